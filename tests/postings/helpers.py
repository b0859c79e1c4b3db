"""Valid posting input, for the services (``values``), the form (``form_data``) and the API
(``api_payload``); each test changes what it is about."""

import datetime as dt

from django.utils import timezone

from postings.rules import Values


def valid_values(**changes) -> Values:
    now = timezone.now()
    values = Values(
        title="Customer survey analysis",
        description="Analyse our customer survey of 2,000 answers and present the findings.",
        acceptance_criteria="A short report with charts and three recommendations.",
        category="data",
        skills=["python", "data analysis"],
        starts_at=now + dt.timedelta(days=14),
        duration_hours=14 * 24,
        effort_hours=20,
        work_mode="remote",
        mentoring="light",
        openings=1,
        application_deadline=now + dt.timedelta(days=7),
        allowed_revisions=2,
        compensation="paid",
        amount=50000,
        currency="USD",
        milestones=[
            {"title": "Cleaned data", "due_offset_hours": 5 * 24, "amount": 20000},
            {"title": "Final report", "due_offset_hours": 14 * 24, "amount": 30000},
        ],
        questions=[{"text": "Which tools would you use?", "required": True}],
    )
    for name, value in changes.items():
        setattr(values, name, value)
    return values


def form_data(**changes) -> dict:
    now = timezone.localtime()
    data = {
        "title": "Customer survey analysis",
        "description": "Analyse our customer survey of 2,000 answers and present the findings.",
        "acceptance_criteria": "A short report with charts and three recommendations.",
        "category": "data",
        "skills": "python, data analysis",
        "starts_at": (now + dt.timedelta(days=14)).strftime("%Y-%m-%dT%H:%M"),
        "duration_value": "2",
        "duration_unit": "weeks",
        "effort_hours": "20",
        "work_mode": "remote",
        "location": "",
        "mentoring": "light",
        "openings": "1",
        "application_deadline": (now + dt.timedelta(days=7)).strftime("%Y-%m-%dT%H:%M"),
        "allowed_revisions": "2",
        "compensation": "paid",
        "amount": "500.00",
        "currency": "USD",
        "credit_arrangement": "",
        "milestones-TOTAL_FORMS": "2",
        "milestones-INITIAL_FORMS": "0",
        "milestones-MIN_NUM_FORMS": "0",
        "milestones-MAX_NUM_FORMS": "10",
        "milestones-0-title": "Cleaned data",
        "milestones-0-due_value": "5",
        "milestones-0-due_unit": "days",
        "milestones-0-amount": "200.00",
        "milestones-1-title": "Final report",
        "milestones-1-due_value": "2",
        "milestones-1-due_unit": "weeks",
        "milestones-1-amount": "300.00",
        "questions-TOTAL_FORMS": "1",
        "questions-INITIAL_FORMS": "0",
        "questions-MIN_NUM_FORMS": "0",
        "questions-MAX_NUM_FORMS": "10",
        "questions-0-text": "Which tools would you use?",
        "questions-0-required": "on",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def api_payload(**changes) -> dict:
    now = timezone.now()
    data = {
        "title": "Customer survey analysis",
        "description": "Analyse our customer survey of 2,000 answers and present the findings.",
        "acceptance_criteria": "A short report with charts and three recommendations.",
        "category": "data",
        "skills": ["python", "data analysis"],
        "starts_at": (now + dt.timedelta(days=14)).isoformat(),
        "duration_hours": 336,
        "effort_hours": 20,
        "work_mode": "remote",
        "openings": 1,
        "application_deadline": (now + dt.timedelta(days=7)).isoformat(),
        "compensation": "paid",
        "amount": 50000,
        "currency": "USD",
        "milestones": [
            {"title": "Cleaned data", "due_offset_hours": 120, "amount": 20000},
            {"title": "Final report", "due_offset_hours": 336, "amount": 30000},
        ],
        "questions": [{"text": "Which tools would you use?", "required": True}],
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}
