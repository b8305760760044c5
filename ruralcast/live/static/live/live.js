// ruralcast live voice page: microphone → AudioWorklet (16 kHz PCM) → WebSocket → loudspeakers.
// Each WebSocket message: 8-byte float64 little-endian capture time (ms since the epoch), then PCM.
(function () {
  "use strict";
  const panel = document.getElementById("live-panel");
  if (!panel) return;
  const form = document.getElementById("live-form");
  const startButton = document.getElementById("live-start");
  const stopButton = document.getElementById("live-stop");
  const onAir = document.getElementById("live-on-air");
  const meter = document.getElementById("live-meter");
  const elapsed = document.getElementById("live-elapsed");
  const stateLabel = document.getElementById("live-state");
  const targetLabel = document.getElementById("live-target");
  const statusBox = document.getElementById("live-status");
  const errorBox = document.getElementById("live-error");
  const FRAME_MS = 160;
  let live = null;

  function show(element, visible) {
    // `hidden` alone loses to the console's button styles: set the display too.
    element.hidden = !visible;
    element.style.display = visible ? "" : "none";
  }

  function csrf() {
    const input = form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function showError(message) {
    errorBox.textContent = message;
    show(errorBox, Boolean(message));
  }

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST", body: body || new FormData(), credentials: "same-origin",
      headers: { "X-CSRFToken": csrf(), "Accept": "application/json" },
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error((data.error && data.error.message) || response.statusText);
    return data;
  }

  // The region as people name it: the picker's chosen label ("榕江县 › 古州镇 (5226…)"), never the bare code.
  function targetName() {
    const field = form.querySelector("[name=target]");
    const chosen = form.querySelector("[data-picker-chosen]");
    const label = chosen ? chosen.textContent.trim() : "";
    return (label && label !== "—" && label.replace(/\s*\(\d+\)$/, "")) || (field && field.value) || "";
  }

  async function refreshStatus() {
    if (!live) return;
    try {
      const response = await fetch(live.session.status, { credentials: "same-origin" });
      if (response.ok) statusBox.innerHTML = await response.text();
    } catch (error) { /* the next poll tries again */ }
  }

  function tick() {
    if (!live) return;
    const seconds = Math.floor((Date.now() - live.startedAt) / 1000);
    elapsed.textContent = Math.floor(seconds / 60) + ":" + String(seconds % 60).padStart(2, "0");
  }

  function cleanUp(message) {
    const current = live;
    live = null;
    if (!current) return;
    clearInterval(current.timer);
    clearInterval(current.poll);
    if (current.node) current.node.port.postMessage("stop");
    if (current.stream) current.stream.getTracks().forEach((track) => track.stop());
    if (current.context) current.context.close();
    if (current.socket && current.socket.readyState <= 1) current.socket.close(1000);
    show(startButton, true);
    show(stopButton, false);
    stateLabel.textContent = panel.dataset.msgEnded;
    meter.value = 0;
    panel.dataset.state = "ended";
    if (message) showError(message);
    if (current.session) {
      setTimeout(() => { fetch(current.session.status, { credentials: "same-origin" }).then((r) => r.text()).then((html) => { statusBox.innerHTML = html; }); }, 1500);
      setTimeout(refreshSessions, 1500);
    }
  }

  // The past-sessions table of this page, fetched again so the session just ended shows without a reload.
  async function refreshSessions() {
    const table = document.getElementById("live-sessions");
    if (!table) return;
    try {
      const response = await fetch(location.href, { credentials: "same-origin" });
      const fresh = new DOMParser().parseFromString(await response.text(), "text/html").getElementById("live-sessions");
      if (response.ok && fresh) table.replaceChildren(...fresh.childNodes);
    } catch (error) { /* the table stays as it was; a reload shows it */ }
  }

  async function start(event) {
    event.preventDefault();
    showError("");
    const question = panel.dataset.confirm.replace("{region}", targetName());
    if (!window.confirm(question)) return;
    startButton.disabled = true;
    const current = { startedAt: Date.now() };
    try {
      current.stream = await navigator.mediaDevices.getUserMedia({
        audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
      });
    } catch (error) {
      startButton.disabled = false;
      showError(panel.dataset.msgDenied);
      return;
    }
    try {
      current.context = new AudioContext();
      await current.context.audioWorklet.addModule(panel.dataset.workletUrl);
      current.session = await post(panel.dataset.startUrl, new FormData(form));
    } catch (error) {
      startButton.disabled = false;
      if (current.stream) current.stream.getTracks().forEach((track) => track.stop());
      if (current.context) current.context.close();
      showError(error.message);
      return;
    }
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    current.socket = new WebSocket(scheme + location.host + current.session.websocket);
    current.socket.binaryType = "arraybuffer";
    current.sent = 0;
    const source = current.context.createMediaStreamSource(current.stream);
    current.node = new AudioWorkletNode(current.context, "rc-capture", {
      processorOptions: { targetRate: 16000, frameMs: FRAME_MS },
    });
    const mute = current.context.createGain();
    mute.gain.value = 0; // the worklet runs only when connected to the output; nothing is heard
    source.connect(current.node).connect(mute).connect(current.context.destination);
    current.node.port.onmessage = (message) => {
      const pcm = message.data.pcm;
      meter.value = message.data.peak;
      if (!current.socket || current.socket.readyState !== WebSocket.OPEN) return;
      const frame = new ArrayBuffer(8 + pcm.byteLength);
      // The frame's first sample was captured one frame ago.
      new DataView(frame).setFloat64(0, Date.now() - FRAME_MS, true);
      new Uint8Array(frame, 8).set(new Uint8Array(pcm));
      current.socket.send(frame);
      current.sent += 1;
      panel.dataset.framesSent = String(current.sent);
    };
    current.socket.onclose = () => {
      if (live !== current) return;
      post(current.session.stop).catch(() => {}); // make sure the server ends it too (idempotent)
      cleanUp(panel.dataset.msgClosed);
    };
    live = current;
    current.timer = setInterval(tick, 500);
    current.poll = setInterval(refreshStatus, 2000);
    startButton.disabled = false;
    show(startButton, false);
    show(stopButton, true);
    show(onAir, true);
    stateLabel.textContent = panel.dataset.msgOnAir;
    targetLabel.textContent = current.session.target;
    panel.dataset.state = "on-air";
    panel.dataset.session = String(current.session.id);
  }

  async function stop() {
    const current = live;
    if (!current) return;
    stopButton.disabled = true;
    try {
      await post(current.session.stop);
    } catch (error) {
      showError(error.message);
    }
    stopButton.disabled = false;
    cleanUp("");
  }

  form.addEventListener("submit", start);
  stopButton.addEventListener("click", stop);
  const stale = document.getElementById("live-stop-stale");
  if (stale) {
    stale.addEventListener("click", async () => {
      try { await post(stale.dataset.stopUrl); location.reload(); } catch (error) { showError(error.message); }
    });
  }
  window.addEventListener("beforeunload", () => { if (live && live.socket) live.socket.close(1000); });
})();
