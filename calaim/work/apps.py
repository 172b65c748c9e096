from django.apps import AppConfig


class WorkConfig(AppConfig):
    name = "calaim.work"
    label = "work"
    verbose_name = "Due work"

    def ready(self):
        from calaim.work.kinds import register_task_kind

        # A generic kind for hand-made follow-ups and the demo data; the domain
        # apps register their own kinds in their ready().
        register_task_kind(
            "platform.follow_up",
            label="Follow-up",
            description="A follow-up someone has to do by a date.",
        )
