"""python manage.py mllp_server --host 0.0.0.0 --port 2575 [--tls-cert --tls-key]"""

import asyncio
import signal

from django.core.management.base import BaseCommand

from care_plans.hl7.mllp import DEFAULT_MAX_FRAME, MLLPServer, tls_context


class Command(BaseCommand):
    help = "Receive HL7 v2 messages over MLLP (TCP, or TLS with --tls-cert/--tls-key)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="0.0.0.0")  # noqa: S104
        parser.add_argument("--port", type=int, default=2575)
        parser.add_argument("--tls-cert", help="PEM certificate chain for TLS")
        parser.add_argument("--tls-key", help="PEM private key for TLS")
        parser.add_argument(
            "--tls-client-ca", help="PEM CA bundle: require client certificates"
        )
        parser.add_argument(
            "--threads",
            type=int,
            default=8,
            help="database threads (each with its own connection)",
        )
        parser.add_argument("--max-frame-bytes", type=int, default=DEFAULT_MAX_FRAME)
        parser.add_argument(
            "--idle-timeout",
            type=float,
            default=300.0,
            help="close a connection idle this many seconds",
        )

    def handle(self, *args, **options):
        if bool(options["tls_cert"]) != bool(options["tls_key"]):
            self.stderr.write("--tls-cert and --tls-key go together.")
            raise SystemExit(2)
        context = (
            tls_context(
                options["tls_cert"], options["tls_key"], options["tls_client_ca"]
            )
            if options["tls_cert"]
            else None
        )
        server = MLLPServer(
            max_frame=options["max_frame_bytes"],
            idle_timeout=options["idle_timeout"],
            threads=options["threads"],
            ssl_context=context,
        )
        asyncio.run(self._serve(server, options["host"], options["port"], context))

    async def _serve(self, server, host, port, context):
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        addresses = await server.start(host, port)
        scheme = "mllp+tls" if context else "mllp"
        for address in addresses:
            self.stdout.write(
                f"MLLP listening on {scheme}://{address[0]}:{address[1]}", ending="\n"
            )
        self.stdout.flush()
        await stop.wait()
        self.stdout.write("MLLP server stopping", ending="\n")
        await server.stop()
        self.stdout.write("MLLP server stopped", ending="\n")
