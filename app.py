"""`python app.py`: Danlu's web page on http://127.0.0.1 (the first free port from 28000).

    python app.py [--port N] [--lang zh|en] [--no-browser] [--output-dir DIR]
                  [--listen --auth USER[:PASSWORD]]

Safe by default: loopback only; `--listen` (other computers may connect) is refused
without `--auth` (a password is generated and printed when only a user is given). Gradio's
analytics are off, the browser may fetch files only from the output folder, uploads are
limited in size, and cross-origin requests are refused (strict CORS). Training runs in
`python -m trainer` subprocesses (ui/jobs.py), never inside this process: no torch here.
"""
from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import sys
from pathlib import Path

# Before gradio is imported: it reads these at import time. Without the first, gradio calls
# out to the internet at launch (docs/NOTES.md).
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

ROOT = Path(__file__).resolve().parent
DEFAULT_PORT = 28000
MAX_UPLOAD = "10mb"  # config files and presets only; a TOML is a few KB


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    from trainer.cli_parser import LocalParser, lang_in_argv
    from trainer.messages import default_lang, texts_in

    text = texts_in(lang_in_argv(argv, default_lang()))
    parser = LocalParser(prog="python app.py", description=text("cli.app_description"), text=text)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=text("cli.app_port", default=DEFAULT_PORT))
    parser.add_argument("--lang", choices=("zh", "en"), help=text("cli.app_lang"))
    parser.add_argument("--no-browser", action="store_true", help=text("cli.app_no_browser"))
    parser.add_argument("--output-dir", default=str(ROOT / "output"), help=text("cli.app_output_dir"))
    parser.add_argument("--listen", action="store_true", help=text("cli.app_listen"))
    parser.add_argument("--auth", help=text("cli.app_auth"))
    parser.add_argument("--stop-grace", type=float, default=None, help=text("cli.app_stop_grace"))
    return parser.parse_args(argv)


def credentials(args: argparse.Namespace) -> tuple[str, str] | None:
    """(user, password) for --auth; a generated password when only the user is given."""
    if not args.auth:
        return None
    user, sep, password = args.auth.partition(":")
    if not sep or not password:
        password = secrets.token_urlsafe(12)
        args.generated_password = password
    return user or "danlu", password


def first_free_port(start: int, host: str) -> int:
    from ui.proc import free_port

    try:
        return free_port(start, host)
    except OSError:
        raise SystemExit(f"no free port between {start} and {start + 99}; pass --port") from None


def _exit_on_sigterm(signum, frame) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from ui.i18n import default_lang, t

    lang = args.lang or default_lang()
    if args.listen and not args.auth:
        # Both languages: the person may not read the one the locale picked.
        print(t("listen_refused", "zh") + "\n\n" + t("listen_refused", "en"), file=sys.stderr)
        return 2
    auth = credentials(args)
    output_root = Path(args.output_dir).expanduser().resolve()
    output_root.mkdir(parents=True, exist_ok=True)
    # Gradio's uploads and cached copies live inside the output folder too, so every file
    # the page can serve is under the one folder allowed_paths names.
    os.environ.setdefault("GRADIO_TEMP_DIR", str(output_root / ".gradio" / "tmp"))
    os.environ.setdefault("GRADIO_EXAMPLES_CACHE", str(output_root / ".gradio" / "examples"))

    from trainer.preflight import preflight
    from ui.jobs import DEFAULT_STOP_GRACE_S, JobRegistry
    from ui.tools import tools_registry as tools_registry_for
    from ui.page import CSS, build_page

    def check(cfg) -> None:
        preflight(cfg)  # data set and base model problems shown at the field before queueing

    registry = JobRegistry(output_root, stop_grace_s=args.stop_grace if args.stop_grace is not None
                           else DEFAULT_STOP_GRACE_S, check_before_queueing=check)
    host = "0.0.0.0" if args.listen else "127.0.0.1"
    port = first_free_port(args.port, host)
    tools_registry = tools_registry_for(output_root, stop_grace_s=args.stop_grace if args.stop_grace is not None
                                        else DEFAULT_STOP_GRACE_S)
    demo = build_page(registry, lang, output_root, listen=args.listen, tools_registry=tools_registry)
    shown_host = socket.gethostname() if args.listen else "127.0.0.1"
    print(t("running_at", lang, url=f"http://{shown_host}:{port}"), flush=True)
    print(t("output_root", lang, root=str(output_root)), flush=True)
    if getattr(args, "generated_password", None):
        print(t("generated_password", lang, user=auth[0], password=args.generated_password), flush=True)
    demo.queue(api_open=False)
    # SIGTERM ends the app like Ctrl+C does, so TensorBoard servers it started end with it
    # (ui/tensorboard.py, atexit); trainers are in their own process groups and go on.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        demo.launch(
            server_name=host,
            server_port=port,
            inbrowser=not args.no_browser,
            auth=auth,
            allowed_paths=[str(output_root)],
            max_file_size=MAX_UPLOAD,
            strict_cors=True,
            ssr_mode=False,
            show_error=True,
            footer_links=["gradio", "settings"],
            css=CSS,
        )
    finally:
        registry.close()  # the trainers keep running; the next start attaches to them
        tools_registry.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
