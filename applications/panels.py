"""This app's parts of the dashboard (registered in ``ApplicationsConfig.ready``)."""

from accounts.views import panel_for_employers, panel_for_students

from . import charts, selectors


def _money(request, read, owner) -> selectors.MoneyPerMonth:
    """The money per month (``selectors.money_per_month``) of this request's dashboard, read
    once: the work panel's totals and the charts panel both show it. Kept on the request, so
    it lives as long as the page being built."""
    if not hasattr(request, "_applications_money"):
        request._applications_money = read(owner)
    return request._applications_money


@panel_for_students
def student_panel(request):
    user = request.user
    money = _money(request, selectors.student_money, user)
    data = selectors.student_dashboard(user, money=money)
    data["record_slug"] = getattr(getattr(user, "student_profile", None), "public_slug", "")
    return "applications/panel_student.html", data


@panel_for_employers
def employer_panel(request, employer):
    money = _money(request, selectors.employer_money, employer)
    data = selectors.employer_dashboard(employer, money=money)
    # The newest postings, for the charts panel's applicants charts (the same postings).
    request._applications_newest = data["postings"]
    return "applications/panel_employer.html", data


@panel_for_students
def student_charts_panel(request):
    """Earnings per month, drawn (``applications.charts``)."""
    user = request.user
    money = _money(request, selectors.student_money, user)
    return "applications/panel_student_charts.html", {
        "earnings": charts.student_earnings_chart(user, money)
    }


@panel_for_employers
def employer_charts_panel(request, employer):
    """Applicants per posting per week, spend per month and time to first response, drawn."""
    money = _money(request, selectors.employer_money, employer)
    return "applications/panel_employer_charts.html", {
        "applicants": charts.employer_applicants_charts(
            employer, getattr(request, "_applications_newest", None)
        ),
        "spend": charts.employer_spend_chart(employer, money),
        "response": charts.employer_response_chart(employer),
    }
