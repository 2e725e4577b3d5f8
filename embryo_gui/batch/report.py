"""``report.html``: one self-contained page (no network, no plotting library) a biologist can read:
a table with one row per embryo, a population-curve thumbnail (inline SVG), sortable columns
(a few lines of inline JavaScript) and, per embryo, a link to its project and the command that
opens it in the app."""

from __future__ import annotations

import html
import shlex
from pathlib import Path

_W, _H = 168, 44
_STATE_TEXT = {
    "clean": "every problem found was handled",
    "flagged": "problems are left on kept frames: worth a look",
    "unusable": "too many frames lost: left out of the dataset",
    "failed": "could not be processed",
    "missing": "not run yet",
}


def _runs(flags: list) -> list[tuple[int, int]]:
    out, start = [], None
    for i, v in enumerate(list(flags) + [0]):
        if v and start is None:
            start = i
        elif not v and start is not None:
            out.append((start, i))
            start = None
    return out


def thumbnail(curve: dict | None) -> str:
    """An inline SVG of the population curve: as imported (grey), after cleaning (green), the
    excluded frames shaded red."""
    if not curve or not curve.get("n"):
        return '<svg class="thumb" width="%d" height="%d"></svg>' % (_W, _H)
    xs = curve["x"]
    n = max(1, int(curve["n"]) - 1)
    vals = [v for key in ("original", "current") for v in curve.get(key) or [] if v is not None]
    top = max(vals) if vals else 1.0
    top = top if top > 0 else 1.0
    px = lambda x: 1 + (_W - 2) * x / n  # noqa: E731
    py = lambda y: _H - 2 - (_H - 4) * y / top  # noqa: E731
    parts = [f'<svg class="thumb" width="{_W}" height="{_H}" viewBox="0 0 {_W} {_H}" '
             f'role="img" aria-label="population curve">',
             f'<rect width="{_W}" height="{_H}" fill="#fbfbfb" stroke="#ddd"/>']
    exc = curve.get("excluded") or []
    for a, b in _runs(exc):
        x0 = px(xs[a])
        x1 = px(xs[b - 1]) if b - 1 < len(xs) else px(n)
        parts.append(f'<rect x="{x0 - 0.6:.1f}" y="0" width="{max(1.2, x1 - x0 + 1.2):.1f}" height="{_H}" '
                     'fill="#e53935" fill-opacity="0.22"/>')
    for key, colour, width in (("original", "#9e9e9e", 1.6), ("current", "#2e7d32", 1.2)):
        seg: list[str] = []
        for x, y in zip(xs, curve.get(key) or []):
            if y is None:
                if len(seg) > 1:
                    parts.append(_polyline(seg, colour, width))
                seg = []
                continue
            seg.append(f"{px(x):.1f},{py(y):.1f}")
        if len(seg) > 1:
            parts.append(_polyline(seg, colour, width))
        elif len(seg) == 1:
            x, y = seg[0].split(",")
            parts.append(f'<circle cx="{x}" cy="{y}" r="1.2" fill="{colour}"/>')
    parts.append(f'<text x="{_W - 3}" y="10" text-anchor="end" font-size="9" fill="#666">{top:g}</text></svg>')
    return "".join(parts)


def _polyline(points: list[str], colour: str, width: float) -> str:
    return (f'<polyline fill="none" stroke="{colour}" stroke-width="{width}" stroke-linejoin="round" '
            f'points="{" ".join(points)}"/>')


def _td(text, sort=None, cls="") -> str:
    s = "" if sort is None else f' data-sort="{html.escape(str(sort))}"'
    c = f' class="{cls}"' if cls else ""
    return f"<td{s}{c}>{text}</td>"


def _frames_list(frames: list, limit: int = 8) -> str:
    if not frames:
        return ""
    shown = ", ".join(str(f) for f in frames[:limit])
    return shown + (f" +{len(frames) - limit}" if len(frames) > limit else "")


def row_html(r: dict, out_dir: str) -> str:
    e = html.escape
    state = r.get("state") or "failed"
    n = r.get("n_frames")
    ok = r.get("status") == "ok"
    cells = [_td(str(r.get("index", "")), r.get("index", 0))]
    name = f'<b>{e(r["name"])}</b><div class="sub">{e(Path(r.get("movie") or "").name)}</div>'
    ann = r.get("annotations")
    name += f'<div class="sub">{e(Path(ann).name) if ann else "no annotations"}</div>'
    cells.append(_td(name, r["name"]))
    cells.append(_td(f'<span class="state {e(state)}" title="{e(_STATE_TEXT.get(state, ""))}">{e(state)}</span>',
                     ["clean", "flagged", "unusable", "failed", "missing"].index(state)
                     if state in _STATE_TEXT else 9))
    cells.append(_td(thumbnail(r.get("curve")) if ok else "", r.get("kept", -1) if ok else -1))
    if not ok:
        err = e(r.get("error") or "")
        log = f' <a href="{e(r["log"])}">traceback</a>' if r.get("log") else ""
        cells.append(f'<td colspan="8" class="error" data-sort="">{err}{log}</td>')
        cells.append(_td("", ""))
        return "<tr class=\"" + e(state) + "\">" + "".join(cells) + "</tr>"
    kept = int(r.get("kept") or 0)
    pct = 100.0 * kept / n if n else 0.0
    cells.append(_td(f"{kept} / {n}<div class=\"sub\">{pct:.0f}% kept</div>", pct))
    reasons = r.get("excluded_by_reason") or {}
    dropped = r.get("dropped") or {}
    bits = [f"{k.replace('_', ' ')} {v}" for k, v in reasons.items() if v]
    if dropped.get("lossy"):
        bits.append(f"lossy, not reviewed {dropped['lossy']}")
    if dropped.get("unannotated"):
        bits.append(f"unannotated {dropped['unannotated']}")
    if dropped.get("unusable_embryo"):
        bits.append(f"embryo unusable {dropped['unusable_embryo']}")
    lost = n - kept if n else 0
    cells.append(_td(e(", ".join(bits)) or "none", lost))
    cf = r.get("corrupt_frames") or {}
    n_corrupt = sum(len(v) for v in cf.values())
    cor = [f'{k.replace("_", " ")} {len(v)}<span class="sub"> ({_frames_list(v)})</span>' for k, v in cf.items() if v]
    cells.append(_td("<br>".join(cor) or "none", n_corrupt))
    cliffs = r.get("cliffs") or []
    pop = [c for c in cliffs if c.get("lineage") == "population"] or cliffs
    ctext = "<br>".join(f'{e(c["kind"])} {c["start"]}&ndash;{c["stop"] - 1}'
                        f'<span class="sub"> {e(str(c.get("repair") or c.get("status")))}</span>'
                        for c in pop[:4])
    if len(pop) > 4:
        ctext += f"<br>+{len(pop) - 4} more"
    if len(cliffs) > len(pop):
        ctext += f'<div class="sub">+{len(cliffs) - len(pop)} in lineage columns</div>'
    cells.append(_td(ctext or "none", len(pop)))
    sp = r.get("spikes") or []
    cells.append(_td(f'{len(sp)}<span class="sub"> ({r.get("spikes_repaired", 0)} repaired)</span>' if sp else "0",
                     len(sp)))
    lossy = r.get("lossy")
    cells.append(_td("not trained" if lossy is None else str(len(lossy)), -1 if lossy is None else len(lossy)))
    al = r.get("alignment") or {}
    agree = al.get("lengths_agree")
    cls = "" if agree else "warn"
    cells.append(_td(e(al.get("message") or "no annotations"), 1 if agree else 0, cls))
    notes = [e(x) for x in r.get("notes") or []]
    if r.get("cliffs_left_for_review"):
        notes.insert(0, f"{r['cliffs_left_for_review']} cliff(s) left for review")
    cells.append(_td("<br>".join(notes), len(notes), "notes"))
    proj = r.get("project") or ""
    cmd = "embryo-gui " + shlex.quote(str(Path(out_dir) / proj))
    link = (f'<a href="{e(proj)}">{e(proj)}</a><div class="cmd"><code>{e(cmd)}</code></div>')
    if r.get("export"):
        link += f'<div class="sub">dataset: <a href="{e(r["export"]["path"])}">{e(r["export"]["path"])}</a></div>'
    cells.append(_td(link, proj))
    return "<tr class=\"" + e(state) + "\">" + "".join(cells) + "</tr>"


_CSS = """
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#222}
h1{font-size:22px;margin:0 0 4px} .meta{color:#555;margin-bottom:14px}
.cards{display:flex;gap:10px;flex-wrap:wrap;margin:12px 0}
.card{border:1px solid #ddd;border-radius:8px;padding:8px 14px;min-width:90px;background:#fafafa}
.card b{display:block;font-size:20px}
table{border-collapse:collapse;width:100%} th,td{border-bottom:1px solid #e4e4e4;padding:6px 8px;
vertical-align:top;text-align:left} th{background:#f3f3f3;cursor:pointer;position:sticky;top:0;white-space:nowrap}
th:after{content:" \\2195";color:#aaa} th.asc:after{content:" \\2191";color:#333} th.desc:after{content:" \\2193";color:#333}
.sub{color:#777;font-size:12px} .cmd code{font-size:11px;background:#f4f4f4;padding:1px 4px;border-radius:3px;word-break:break-all}
td:last-child{max-width:220px}
.state{display:inline-block;padding:1px 8px;border-radius:10px;font-weight:600;font-size:12px}
.state.clean{background:#e3f4e6;color:#1b5e20}.state.flagged{background:#fff3cd;color:#7a5200}
.state.unusable{background:#fde2e1;color:#a4161a}.state.failed{background:#a4161a;color:#fff}
.state.missing{background:#e0e0e0;color:#555} td.error{color:#a4161a} td.warn{color:#7a5200}
td.notes{font-size:12px;color:#555;max-width:260px} .legend{font-size:12px;color:#555}
.legend i{display:inline-block;width:18px;height:3px;vertical-align:middle;margin:0 4px 0 10px}
"""

_JS = """
document.querySelectorAll('th').forEach(function(th, col){
  th.addEventListener('click', function(){
    var tbody = document.querySelector('tbody'); var rows = Array.from(tbody.rows);
    var asc = !th.classList.contains('asc');
    document.querySelectorAll('th').forEach(function(h){h.classList.remove('asc','desc');});
    th.classList.add(asc ? 'asc' : 'desc');
    function key(r){ var c = r.cells[col]; var v = c ? (c.dataset.sort !== undefined ? c.dataset.sort : c.textContent) : '';
      var x = parseFloat(v); return isNaN(x) ? v.toString().toLowerCase() : x; }
    rows.sort(function(a, b){ var x = key(a), y = key(b);
      if (typeof x !== typeof y) { x = String(x); y = String(y); }
      return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1); });
    rows.forEach(function(r){ tbody.appendChild(r); });
  });
});
"""

_HEAD = ["#", "Embryo", "State", "Population curve", "Frames kept", "Excluded (by reason)", "Corrupt frames",
         "Cliffs", "Spikes", "Lossy", "Annotation alignment", "Notes", "Open in the app"]


def render_html(report: dict) -> str:
    e = html.escape
    rows = report.get("embryos") or []
    out_dir = report.get("out_dir") or "."
    t = report.get("totals") or {}
    ds = report.get("dataset") or {}
    cards = [("embryos", t.get("embryos", 0))] + [(k, t.get(k, 0)) for k in
                                                  ("clean", "flagged", "unusable", "failed", "missing") if t.get(k)]
    cards.append(("frames in the dataset", t.get("frames_kept", 0)))
    card_html = "".join(f'<div class="card"><b>{v}</b>{e(k)}</div>' for k, v in cards)
    if ds.get("error"):
        ds_html = f'<p class="error">No merged dataset: {e(ds["error"])}</p>'
    else:
        ds_html = (f'<p>Merged dataset: <a href="{e(ds.get("path") or "")}">{e(ds.get("path") or "")}</a> '
                   f'&mdash; {e(ds.get("message") or "")} (layout as <code>embryo-repair export</code>, '
                   'docs/FORMAT.md).</p>')
    settings = report.get("settings") or {}
    st = ", ".join(f"{k} {v}" for k, v in settings.items() if v not in (None, False, {}, [])) or "defaults"
    notes = "".join(f"<li>{e(n)}</li>" for n in report.get("notes") or [])
    body = "\n".join(row_html(r, out_dir) for r in rows)
    review = "embryo-gui " + shlex.quote(str(out_dir))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>embryo-gui batch report: {len(rows)} embryos</title>
<style>{_CSS}</style></head><body>
<h1>Batch report: {len(rows)} embryos</h1>
<div class="meta">Made {e(report.get("created") or "")} from <code>{e(str(report.get("input_dir") or "?"))}</code>;
settings: {e(st)}. Frames are numbered from 0.</div>
<div class="cards">{card_html}</div>
{ds_html}
<p>Review the projects one after another in the app: <code>{e(review)}</code> (Next / Previous project in the
File menu). Click a column title to sort.</p>
{"<ul>" + notes + "</ul>" if notes else ""}
<div class="legend">Curve: <i style="background:#9e9e9e"></i>population as annotated
<i style="background:#2e7d32"></i>after cleaning <i style="background:#e53935;opacity:.35;height:10px"></i>excluded
frames. Excluded counts by reason may overlap (a frame can be black and inside a cliff).</div>
<table><thead><tr>{"".join(f"<th>{e(h)}</th>" for h in _HEAD)}</tr></thead>
<tbody>
{body}
</tbody></table>
<script>{_JS}</script>
</body></html>
"""
