"""Consumer label: a 400x560 card with the security level, support dates, top issues and a QR code to verify.

Every string on the label comes from the certificate and may have come from the vendor or the firmware, so
text is cleaned (control and bidi-format characters removed, so a name cannot reorder what the buyer reads),
cut to fit, and XML-escaped. The QR code is drawn from segno's module matrix as one SVG path: no temp files.
"""

from __future__ import annotations

import unicodedata
from xml.sax.saxutils import escape

import segno

from iotmark.model import Assessment, Certificate

WIDTH, HEIGHT = 400, 560
MARGIN = 24
FONT = "'DejaVu Sans', 'Noto Sans', Verdana, Arial, sans-serif"
NAVY, INK, MUTED, GREEN, RED, TRACK = "#1f3a5f", "#1a1a1a", "#4a4f55", "#1e6b34", "#b3261e", "#d8dbe0"
QR_SIZE = 112
MAX_ISSUES = 3
ELLIPSIS = "\u2026"


def _clean(text: str) -> str:
    """One line of printable text. Control characters and separators become spaces; format characters
    (bidi overrides, zero-width joiners), surrogates and unassigned code points are dropped."""
    out = []
    for ch in text:
        category = unicodedata.category(ch)
        if category in ("Cf", "Cs", "Co", "Cn"):
            continue
        out.append(ch if ch.isprintable() else " ")
    return " ".join("".join(out).split())


# Advance widths in em per class of character: the widest DejaVu Sans glyph of the class (regular, bold).
# Text is measured with these before it is placed, so it never runs off the card whatever letters it uses.
_NARROW = set("iljtfrI.,:;'!|")
_WIDE = set("mwMW@%\u2026")


def _char_em(ch: str, bold: bool) -> float:
    if ch == " ":
        return 0.35 if bold else 0.32
    if ch in _NARROW:
        return 0.5 if bold else 0.42
    if ch in _WIDE or unicodedata.east_asian_width(ch) in ("W", "F"):
        return 1.11 if bold else 1.0
    if ch.isascii() and (ch.islower() or ch.isdigit()):
        return 0.72 if bold else 0.64
    return 0.87 if bold else 0.84  # capitals, symbols, other scripts


def _width(text: str, font_px: float, bold: bool = False) -> float:
    return font_px * sum(_char_em(ch, bold) for ch in text)


def _fitting(text: str, width: float, font_px: float, bold: bool = False) -> int:
    """How many leading characters of `text` fit in `width`."""
    used = 0.0
    for n, ch in enumerate(text):
        used += _width(ch, font_px, bold)
        if used > width:
            return n
    return len(text)


def _cut(text: str, width: float, font_px: float, bold: bool = False) -> str:
    """`text` as it fits in `width`, ending in an ellipsis when something had to go."""
    if _width(text, font_px, bold) <= width:
        return text
    keep = _fitting(text, width - _width(ELLIPSIS, font_px, bold), font_px, bold)
    return text[:keep].rstrip() + ELLIPSIS


def _fit(text: str, width: float, font_px: float, bold: bool = False) -> str:
    return _cut(_clean(text), width, font_px, bold)


def _fit_size(text: str, width: float, sizes: tuple[float, ...], bold: bool = False) -> tuple[str, float]:
    """The largest size at which `text` fits on one line; at the smallest size it is cut to fit."""
    text = _clean(text)
    for size in sizes:
        if _width(text, size, bold) <= width:
            return text, size
    return _cut(text, width, sizes[-1], bold), sizes[-1]


def _wrap(text: str, width: float, font_px: float, max_lines: int) -> list[str]:
    """Greedy word wrap by measured width; over-long words (URLs, hashes) are split; the last line may be cut."""
    lines: list[str] = []
    current = ""
    for word in _clean(text).split(" "):
        candidate = f"{current} {word}" if current else word
        if _width(candidate, font_px) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        while _width(word, font_px) > width:
            keep = max(1, _fitting(word, width, font_px))
            lines.append(word[:keep])
            word = word[keep:]
        current = word
    lines.append(current)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = _cut(lines[-1] + ELLIPSIS, width, font_px)
    return lines


def _text(x: float, y: float, content: str, size: float, *, fill: str = INK, bold: bool = False,
          anchor: str = "start", spacing: float | None = None) -> str:
    attrs = f'x="{x:g}" y="{y:g}" font-size="{size:g}" fill="{fill}"'
    if bold:
        attrs += ' font-weight="bold"'
    if anchor != "start":
        attrs += f' text-anchor="{anchor}"'
    if spacing is not None:
        attrs += f' letter-spacing="{spacing:g}"'
    return f"<text {attrs}>{escape(content)}</text>"


def _qr_path(url: str) -> tuple[str, int]:
    """SVG path data (one unit per module, quiet zone included) and the symbol's size in modules."""
    qr = segno.make(url, error="m", micro=False)
    runs = []
    size = 0
    for y, row in enumerate(qr.matrix_iter(scale=1, border=4)):
        row = list(row)
        size = len(row)
        x = 0
        while x < len(row):
            if row[x]:
                start = x
                while x < len(row) and row[x]:
                    x += 1
                runs.append(f"M{start} {y}h{x - start}v1h{start - x}z")
            else:
                x += 1
    return "".join(runs), size


def _max_level(assessment: Assessment | None) -> int | None:
    if assessment is None or not assessment.levels:
        return None
    return max(level.level for level in assessment.levels)


def _withdrawn_band(notice: str) -> list[str]:
    """A veil over the whole label and a red band across it: the registry no longer vouches for this label."""
    return [
        f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff" fill-opacity="0.72"/>',
        f'<g transform="rotate(-30 {WIDTH / 2:g} {HEIGHT / 2:g})">',
        f'<rect x="-60" y="{HEIGHT / 2 - 34:g}" width="{WIDTH + 120}" height="68" fill="{RED}"/>',
        _text(WIDTH / 2 - _width(notice, 30, bold=True) / 2, HEIGHT / 2 + 11, notice, 30, fill="#ffffff", bold=True),
        "</g>",
    ]


def render_label_svg(certificate: Certificate, assessment: Assessment | None = None,
                     withdrawn: str | None = None) -> str:
    """The label as an SVG document (str). `assessment` only adds "of N" to the level and the level bar;
    `withdrawn` (e.g. "REVOKED") is stamped across a label the registry no longer vouches for."""
    cert, target = certificate, certificate.target
    top = _max_level(assessment)
    level_text = f"Level {cert.level}" + (f" of {top}" if top else "")
    updates_until = (target.support_until or cert.expires).isoformat()
    valid_until = cert.expires.isoformat()
    inner = WIDTH - 2 * MARGIN
    device = f"{target.vendor} {target.model}"
    firmware = f"Firmware {target.firmware_version}" + (
        f" \u00b7 Hardware {target.hardware_version}" if target.hardware_version else ""
    )
    device_line, device_px = _fit_size(device, inner, (15, 14, 13, 12, 11), bold=True)
    issues = [line for line in (_clean(s) for s in cert.summary) if line][:MAX_ISSUES]
    meets = (GREEN, "Meets the level its device class requires") if cert.meets_class else (
        RED, "Below the level its device class requires")

    title = f"iotmark security label: {_clean(device)}, {level_text} ({_clean(cert.level_name)})"
    desc = (
        (f"{_clean(withdrawn)}: do not rely on this label. " if withdrawn else "")
        + f"{_clean(device)}, {_clean(firmware)}. {level_text}, {_clean(cert.level_name)}. {meets[1]}. "
        f"Security updates until {updates_until}. Certificate valid until {valid_until}. "
        + (f"Top issues: {'; '.join(issues)}. " if issues else "")
        + f"Verify at {_clean(cert.verify_url)}."
    )

    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="label-title label-desc">',
        f'<title id="label-title">{escape(title)}</title>',
        f'<desc id="label-desc">{escape(desc)}</desc>',
        f'<defs><clipPath id="card"><rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" rx="16"/></clipPath></defs>',
        f'<g font-family="{FONT}">',
        f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" rx="16" fill="#ffffff"/>',
        f'<rect x="0" y="0" width="{WIDTH}" height="56" fill="{NAVY}" clip-path="url(#card)"/>',
        _text(MARGIN, 38, "iotmark", 26, fill="#ffffff", bold=True),
        _text(WIDTH - MARGIN, 36, "IoT security label", 13, fill="#ffffff", anchor="end"),
        _text(MARGIN, 80, "SECURITY LEVEL", 11, fill=MUTED, bold=True, spacing=1.5),
        _text(MARGIN, 118, level_text, 36, fill=NAVY, bold=True),
        _text(MARGIN, 142, _fit(cert.level_name, inner, 17), 17),
    ]
    if top:
        gap = 6
        seg = (inner - gap * (top - 1)) / top
        for i in range(top):
            fill = NAVY if i < cert.level else TRACK
            parts.append(f'<rect x="{MARGIN + i * (seg + gap):g}" y="152" width="{seg:g}" height="8" rx="3" fill="{fill}"/>')
    parts += [
        _text(MARGIN, 182, meets[1], 12, fill=meets[0], bold=True),
        f'<line x1="{MARGIN}" y1="194" x2="{WIDTH - MARGIN}" y2="194" stroke="{TRACK}"/>',
        _text(MARGIN, 216, device_line, device_px, bold=True),
        _text(MARGIN, 234, _fit(firmware, inner, 12), 12, fill=MUTED),
        f'<line x1="{MARGIN}" y1="246" x2="{WIDTH - MARGIN}" y2="246" stroke="{TRACK}"/>',
        _text(MARGIN, 266, "Security updates until", 11, fill=MUTED),
        _text(MARGIN, 289, updates_until, 19, bold=True),
        _text(WIDTH / 2 + 8, 266, "Certificate valid until", 11, fill=MUTED),
        _text(WIDTH / 2 + 8, 289, valid_until, 19, bold=True),
        f'<line x1="{MARGIN}" y1="302" x2="{WIDTH - MARGIN}" y2="302" stroke="{TRACK}"/>',
        _text(MARGIN, 322, "Top issues" if issues else "Issues", 12, bold=True),
    ]
    y = 340
    if issues:
        for issue in issues:
            for n, line in enumerate(_wrap(issue, inner - 14, 12, max_lines=2)):
                if n == 0:
                    parts.append(f'<circle cx="{MARGIN + 4}" cy="{y - 4}" r="2.5" fill="{INK}"/>')
                parts.append(_text(MARGIN + 14, y, line, 12))
                y += 15
    else:
        parts.append(_text(MARGIN, y, "No issues listed on the certificate.", 12, fill=MUTED))

    qr_path, modules = _qr_path(cert.verify_url)
    qr_x, qr_y = WIDTH - MARGIN - QR_SIZE + 6, HEIGHT - QR_SIZE - 12
    left = qr_x - MARGIN - 8
    parts += [
        f'<line x1="{MARGIN}" y1="{qr_y - 6}" x2="{WIDTH - MARGIN}" y2="{qr_y - 6}" stroke="{TRACK}"/>',
        f'<g transform="translate({qr_x:g} {qr_y:g}) scale({QR_SIZE / modules:g})">'
        f'<rect width="{modules}" height="{modules}" fill="#ffffff"/>'
        f'<path d="{qr_path}" fill="#000000" shape-rendering="crispEdges"/></g>',
        _text(MARGIN, qr_y + 22, "Scan to verify this label", 13, bold=True),
    ]
    for n, line in enumerate(_wrap(cert.verify_url, left, 10, max_lines=2)):
        parts.append(_text(MARGIN, qr_y + 40 + n * 13, line, 10, fill=NAVY))
    parts += [
        _text(MARGIN, qr_y + 78, _fit(f"Certificate {cert.id}", left, 10), 10, fill=MUTED),
        _text(MARGIN, qr_y + 92, _fit(f"Issued {cert.issued.isoformat()} by {cert.issuer}", left, 10), 10, fill=MUTED),
        _text(MARGIN, qr_y + 106, "Signed" if cert.signature else "NOT SIGNED: not a valid label", 10,
              fill=MUTED if cert.signature else RED, bold=not cert.signature),
        f'<rect x="1.5" y="1.5" width="{WIDTH - 3}" height="{HEIGHT - 3}" rx="15" fill="none" stroke="{NAVY}" stroke-width="3"/>',
        *(_withdrawn_band(_clean(withdrawn)) if withdrawn else []),
        "</g>",
        "</svg>",
    ]
    return "\n".join(parts) + "\n"


def render_label_png(certificate: Certificate, assessment: Assessment | None = None, scale: float = 2.0,
                     withdrawn: str | None = None) -> bytes:
    """The label as PNG bytes, `scale` times 400x560 pixels."""
    import cairosvg  # loads cairo; only when a PNG is asked for

    svg = render_label_svg(certificate, assessment, withdrawn).encode("utf-8")
    return cairosvg.svg2png(bytestring=svg, scale=scale, background_color="white")
