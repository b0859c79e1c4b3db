"""This app's parts of the dashboard (registered in ``ApplicationsConfig.ready``)."""

from accounts.views import panel_for_employers, panel_for_students

from . import charts, selectors


@panel_for_students
def student_panel(request):
    user = request.user
    data = selectors.student_dashboard(user)
    data["record_slug"] = getattr(getattr(user, "student_profile", None), "public_slug", "")
    return "applications/panel_student.html", data


@panel_for_employers
def employer_panel(request, employer):
    return "applications/panel_employer.html", selectors.employer_dashboard(employer)


@panel_for_students
def student_charts_panel(request):
    """Earnings per month, drawn (``applications.charts``)."""
    user = request.user
    return "applications/panel_student_charts.html", {
        "earnings": charts.student_earnings_chart(user)
    }


@panel_for_employers
def employer_charts_panel(request, employer):
    """Applicants per posting per week, spend per month and time to first response, drawn."""
    return "applications/panel_employer_charts.html", {
        "applicants": charts.employer_applicants_charts(employer),
        "spend": charts.employer_spend_chart(employer),
        "response": charts.employer_response_chart(employer),
    }
