"""Plain-text rendering of a linearizability result for people (layer: checker).

Pure: returns a string; printing is the CLI's job.
"""

from __future__ import annotations

import json

VERDICT = {True: "VALID", False: "INVALID", "unknown": "UNKNOWN"}


def render_text(result: dict) -> str:
    """One summary line, then the counterexample (if invalid) or the reason (if unknown)."""
    lines = [_summary(result)]
    if result["valid"] == "unknown":
        lines.append(f"  undecided keys: {_keys(result['unknown_keys'])} "
                     f"(reason: {', '.join(result.get('reason', [])) or 'limit'})")
    if result["valid"] is False:
        lines += _counterexample(result)
    return "\n".join(lines)


def _summary(r):
    text = (f"{VERDICT[r['valid']]}: model {r['model']}, {r['ops']} ops, {r['keys']} keys, "
            f"elapsed {r['elapsed_s']:.3f}s")
    if r["valid"] == "unknown":
        text += f", coverage {r['keys_decided']}/{r['keys']} keys decided"
    if r["valid"] is False:
        text += f", invalid keys: {_keys(r['invalid_keys'])}"
    if "method" in r:
        text += f", decided by {r['method']}"
    return text


def _keys(keys, limit=10):
    shown = ", ".join(json.dumps(k) for k in keys[:limit])
    return shown + (f" ... (+{len(keys) - limit})" if len(keys) > limit else "")


def _op(op):
    """One op on one line; an info op's interval is open (it may take effect at any later time)."""
    end = "open" if op["type"] == "info" else op["complete_time"]
    return (f"#{op['index']} p{op['process']} {op['type']:<4} {op['f']} {json.dumps(op['value'])} "
            f"[{op['invoke_time']} .. {end}] (line {op['line']})")


def _counterexample(r):
    ce = r["counterexample"]
    w = ce["window"]
    out = [f"counterexample for key {json.dumps(ce['key'])}: these {len(w['ops'])} ops (times "
           f"{w['from_time']}..{w['to_time']}), starting from {w['starts_from']} "
           f"{w['start_state']!r}, cannot be linearized:"]
    out += [f"    {_op(op)}" for op in w["ops"]]
    if "certificate" in ce:
        out.append(f"  why (read-mapping): {ce['certificate']['why']}")
    out.append(f"  longest partial linearization ({len(ce['longest_linearization'])} ops):")
    out += [f"    {_op(op)} -> state {op['state_after']!r}" for op in ce["longest_linearization"]]
    out.append(f"  then in state {ce['state_after_longest']!r} none of these can be placed next:")
    out += [f"    {_op(op)}: {op['why']}" for op in ce["not_placeable_next"]]
    return out
