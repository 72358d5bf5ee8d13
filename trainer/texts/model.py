"""Messages of model (see trainer/texts/__init__.py)."""

TEXTS: dict[str, tuple[str, str]] = {
}
