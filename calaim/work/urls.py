from django.urls import path

from calaim.work import views

urlpatterns = [
    path("", views.my_tasks, name="my_tasks"),
    path("<uuid:task_uuid>/close/", views.close, name="task_close"),
]
