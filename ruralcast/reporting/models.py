"""Reporting up the administrative chain (统筹协调), modelled on DHIS2 but aggregated live.

- `DataElement`: one figure (a number, percent, money amount or text) with its aggregation type
  (sum, average, last value in time). An element with a `source` is an *operational figure*: its
  value comes from the app that publishes it (the figure registry, `core.registries.figures`,
  read through `reporting.sources`) and nobody types it in.
- `DataSet`: the elements one region reports together, with a period type (monthly, quarterly,
  yearly), the level that enters it (village, township or county) and a due date.
- `Indicator`: a formula over element codes (online rate = online ÷ installed), parsed safely.
- `ValidationRule`: `left <op> right` over element codes, checked on every save.
- `DataValue`: one value of one element for one region and period. Totals are never stored: they
  are summed over region-code prefixes when someone asks (see `reporting.analytics`).
- `ReportReceipt`: when a region first and last saved a data set for a period (completeness and
  timeliness).
- `Approval`: one step up the chain for a data set and period: a county *submits*, a city and the
  province *approve*, the national level *accepts* (a province row with state accepted). Any row
  on a region or above it locks entry below it.
- `SendBack`: a step sent back (退回) with who, when and why, kept after the step itself is gone
  so the region's entry and approval pages can say why it must report again.
- `Circular` (通报) and `Post` (工作动态) with `PostAttachment`.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from ruralcast.regions.codes import Level


class ValueType(models.TextChoices):
    NUMBER = "number", _("Number")
    PERCENT = "percent", _("Percent")
    MONEY = "money", _("Money (yuan)")
    TEXT = "text", _("Text")


class Aggregation(models.TextChoices):
    SUM = "sum", _("Sum")
    AVERAGE = "average", _("Average")
    LAST = "last", _("Last value in time")


class PeriodType(models.TextChoices):
    MONTHLY = "monthly", _("Monthly")
    QUARTERLY = "quarterly", _("Quarterly")
    YEARLY = "yearly", _("Yearly")


class Line(models.IntegerChoices):
    """The eight lines of work of the 2020 notice."""

    CAMPAIGN = 1, _("1 · Campaign messaging")
    PROGRAMMES = 2, _("2 · Quality programmes")
    CONSUMPTION = 3, _("3 · Consumption aid")
    EDUCATION = 4, _("4 · Education")
    HEALTH = 5, _("5 · Health")
    PUBLIC_SERVICE = 6, _("6 · Public service and emergency broadcasting")
    TALENT = 7, _("7 · Talent")
    COORDINATION = 8, _("8 · Coordination")


ENTRY_LEVELS = [(Level.VILLAGE, _("Village")), (Level.TOWNSHIP, _("Township")), (Level.COUNTY, _("County"))]


def in_reader_language(chinese: str, english: str) -> str:
    """Metadata is named in both languages (the Chinese of the 2020 notice and English, both
    shipped in data/reporting/metadata.json): pages show the reader's language, falling back to
    the Chinese when no English was given."""
    return english if english and (get_language() or "").startswith("en") else chinese


class DataElement(models.Model):
    code = models.SlugField(_("code"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=120)
    name_en = models.CharField(_("English name"), max_length=120, blank=True)
    line = models.PositiveSmallIntegerField(_("line of work"), choices=Line.choices)
    value_type = models.CharField(_("value type"), max_length=10, choices=ValueType.choices, default=ValueType.NUMBER)
    aggregation = models.CharField(_("aggregation"), max_length=10, choices=Aggregation.choices)
    unit = models.CharField(_("unit"), max_length=20, blank=True)
    unit_en = models.CharField(_("English unit"), max_length=20, blank=True)
    source = models.CharField(_("operational source"), max_length=60, blank=True)
    description = models.TextField(_("description"), blank=True)

    class Meta:
        ordering = ["line", "code"]
        verbose_name = _("data element")
        verbose_name_plural = _("data elements")

    def __str__(self) -> str:
        return self.name

    @property
    def label(self) -> str:
        return in_reader_language(self.name, self.name_en)

    @property
    def unit_label(self) -> str:
        return in_reader_language(self.unit, self.unit_en)

    @property
    def is_operational(self) -> bool:
        return bool(self.source)


class DataSet(models.Model):
    code = models.SlugField(_("code"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=120)
    name_en = models.CharField(_("English name"), max_length=120, blank=True)
    line = models.PositiveSmallIntegerField(_("line of work"), choices=Line.choices)
    period_type = models.CharField(_("period type"), max_length=10, choices=PeriodType.choices)
    entry_level = models.PositiveSmallIntegerField(_("entered by"), choices=ENTRY_LEVELS, default=Level.COUNTY)
    due_days = models.PositiveSmallIntegerField(
        _("days allowed"), default=10, help_text=_("Days after the end of the period before a report counts as late.")
    )
    elements: "models.ManyToManyField[DataElement, DataSetElement]" = models.ManyToManyField(
        DataElement, through="DataSetElement", related_name="data_sets"
    )

    class Meta:
        ordering = ["line", "code"]
        verbose_name = _("data set")
        verbose_name_plural = _("data sets")

    def __str__(self) -> str:
        return self.name

    @property
    def label(self) -> str:
        return in_reader_language(self.name, self.name_en)


class DataSetElement(models.Model):
    data_set = models.ForeignKey(DataSet, on_delete=models.CASCADE, related_name="members")
    element = models.ForeignKey(DataElement, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["data_set", "element"], name="dataset_element_unique")]

    def __str__(self) -> str:
        return f"{self.data_set_id}:{self.element_id}"


class Indicator(models.Model):
    code = models.SlugField(_("code"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=120)
    name_en = models.CharField(_("English name"), max_length=120, blank=True)
    line = models.PositiveSmallIntegerField(_("line of work"), choices=Line.choices)
    formula = models.CharField(_("formula"), max_length=300, help_text=_("Element codes with + − × ÷ and numbers."))
    value_type = models.CharField(_("value type"), max_length=10, choices=ValueType.choices, default=ValueType.PERCENT)

    class Meta:
        ordering = ["line", "code"]
        verbose_name = _("indicator")
        verbose_name_plural = _("indicators")

    def __str__(self) -> str:
        return self.name

    @property
    def label(self) -> str:
        return in_reader_language(self.name, self.name_en)


class Operator(models.TextChoices):
    LE = "<=", "≤"
    LT = "<", "<"
    EQ = "==", "="
    GE = ">=", "≥"
    GT = ">", ">"


class ValidationRule(models.Model):
    data_set = models.ForeignKey(DataSet, on_delete=models.CASCADE, related_name="rules")
    left = models.CharField(_("left side"), max_length=300)
    operator = models.CharField(_("operator"), max_length=2, choices=Operator.choices)
    right = models.CharField(_("right side"), max_length=300)
    message = models.CharField(_("message"), max_length=200)

    class Meta:
        ordering = ["id"]
        verbose_name = _("validation rule")
        verbose_name_plural = _("validation rules")

    def __str__(self) -> str:
        return f"{self.left} {self.operator} {self.right}"


class DataValue(models.Model):
    element = models.ForeignKey(DataElement, on_delete=models.PROTECT, related_name="+")
    period = models.CharField(_("period"), max_length=7)
    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+", db_constraint=True)
    value = models.FloatField(_("value"), null=True, blank=True)
    text = models.CharField(_("text"), max_length=500, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            # Also the index every aggregation reads: one element, some periods, a code range.
            models.UniqueConstraint(fields=["element", "period", "region"], name="datavalue_unique")
        ]
        indexes = [
            # Covering (value is its last column) so totals and pivots read the index only, on
            # PostgreSQL and SQLite alike (INCLUDE would be PostgreSQL only).
            models.Index(fields=["period", "element", "region", "value"], name="datavalue_period_cover"),
        ]
        verbose_name = _("data value")
        verbose_name_plural = _("data values")

    def __str__(self) -> str:
        return f"{self.element_id} {self.period} {self.region_id}"


class ReportReceipt(models.Model):
    data_set = models.ForeignKey(DataSet, on_delete=models.CASCADE, related_name="receipts")
    period = models.CharField(max_length=7)
    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+")
    first_saved_at = models.DateTimeField()
    last_saved_at = models.DateTimeField()
    saved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["data_set", "period", "region"], name="report_receipt_unique")]

    def __str__(self) -> str:
        return f"{self.data_set_id} {self.period} {self.region_id}"


class ApprovalState(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted by the county")
    APPROVED = "approved", _("Approved")
    ACCEPTED = "accepted", _("Accepted by the national level")


class Approval(models.Model):
    data_set = models.ForeignKey(DataSet, on_delete=models.CASCADE, related_name="approvals")
    period = models.CharField(max_length=7)
    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+")
    state = models.CharField(max_length=10, choices=ApprovalState.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["data_set", "period", "region"], name="approval_unique")]

    def __str__(self) -> str:
        return f"{self.data_set_id} {self.period} {self.region_id} {self.state}"


class SendBack(models.Model):
    """One send-back (退回) of a region's step: the approval row is removed (or an accepted one
    goes back to approved), this row keeps who sent it back, when and why. The latest one is shown
    to the region until it submits again (`selectors.send_back_pending`)."""

    data_set = models.ForeignKey(DataSet, on_delete=models.CASCADE, related_name="send_backs")
    period = models.CharField(max_length=7)
    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()
    reason = models.TextField()

    class Meta:
        indexes = [models.Index(fields=["data_set", "period", "region", "-at"], name="sendback_latest")]

    def __str__(self) -> str:
        return f"{self.data_set_id} {self.period} {self.region_id} {self.at:%Y-%m-%d}"


class Circular(models.Model):
    """A progress circular (通报) for a region and period: figures are computed when it is shown."""

    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+")
    period = models.CharField(_("period"), max_length=7)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("free text"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("circular")
        verbose_name_plural = _("circulars")

    def __str__(self) -> str:
        return self.title


class Post(models.Model):
    """A work dynamics item (工作动态): a short report of what a region did, with attachments."""

    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+")
    line = models.PositiveSmallIntegerField(_("line of work"), choices=Line.choices)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("work dynamics post")
        verbose_name_plural = _("work dynamics posts")

    def __str__(self) -> str:
        return self.title


class PostAttachment(models.Model):
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to="reporting/posts/%Y/%m/")
    name = models.CharField(max_length=200)  # the uploader's file name: shown, and the download's name
    size = models.PositiveIntegerField(default=0)
    # What the file is, decided from its content at upload (core.filetypes); served as a download.
    content_type = models.CharField(max_length=100, blank=True)

    def __str__(self) -> str:
        return self.name
