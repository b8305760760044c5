// Draws the reporting dashboard's charts with the vendored ECharts from the JSON the page embeds.
// Tooltips are drawn on the canvas (renderMode "richText"): ECharts' HTML tooltip writes style
// attributes into its markup, which the Content-Security-Policy refuses.
document.addEventListener("DOMContentLoaded", function () {
  var data = JSON.parse(document.getElementById("charts-data").textContent);
  var charts = [];
  function draw(id, option) {
    var node = document.getElementById(id);
    if (!node || !window.echarts) return null;
    var chart = window.echarts.init(node);
    option.tooltip = Object.assign({ renderMode: "richText" }, option.tooltip);
    chart.setOption(option);
    node.setAttribute("data-ready", "1");
    charts.push(chart);
    return chart;
  }
  draw("chart-trend", {
    tooltip: { trigger: "axis" }, legend: { type: "scroll" },
    xAxis: { type: "category", data: data.periods }, yAxis: { type: "value" },
    series: data.trend.map(function (s) { return { name: s.name, type: "line", data: s.data, connectNulls: false }; })
  });
  if (data.ranking && data.ranking.labels) {
    var ranking = draw("chart-ranking", {
      tooltip: {}, grid: { left: 100 },
      xAxis: { type: "value" }, yAxis: { type: "category", inverse: true, data: data.ranking.labels },
      series: [{ name: data.ranking.name, type: "bar", data: data.ranking.data }]
    });
    if (ranking) {
      ranking.on("click", function (event) {  // drill down: the same dashboard for that region
        var params = new URLSearchParams(window.location.search);
        params.set("region", data.ranking.codes[event.dataIndex]);
        window.location.search = params.toString();
      });
    }
  }
  draw("chart-distribution", { tooltip: { trigger: "item" }, series: [{ type: "pie", radius: ["35%", "70%"], data: data.distribution || [] }] });
  draw("chart-completeness", {
    tooltip: { trigger: "axis" }, grid: { left: 160 },
    xAxis: { type: "value", max: 100 },
    yAxis: { type: "category", data: data.completeness.map(function (c) { return c.name; }) },
    series: [
      { name: "%", type: "bar", data: data.completeness.map(function (c) { return c.rate; }) },
      { name: "on time %", type: "bar", data: data.completeness.map(function (c) { return c.timely; }) }
    ]
  });
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
});
