from __future__ import annotations

from django.urls import path

from isidorus.dashboard import views

urlpatterns = [
    path("", views.jobs_page, name="dashboard-jobs"),
    path("jobs/<uuid:job_id>/", views.job_page, name="dashboard-job"),
    path("login/", views.DashboardLoginView.as_view(), name="dashboard-login"),
    path("logout/", views.DashboardLogoutView.as_view(), name="dashboard-logout"),
]
