"""`persona-evals opinion metrics`: alignment of opinion-simulation logs with ground truth.

Election items are compared with the shipped state results (two-party share error, signed bias,
winners that agree, states won, electoral votes, national shares weighted by population and by
turnout). Survey items are compared with a user-supplied `--truth` file, if any.
"""

from __future__ import annotations

import argparse
import json
import math
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:
    from persona_evals.commands.outputs import add_output_argument

    p = sub.add_parser("opinion", help="opinion simulation: alignment metrics over logs")
    cmds = p.add_subparsers(dest="opinion_command", required=True, metavar="ACTION")
    m = cmds.add_parser("metrics", help="answer distributions and alignment per log")
    m.add_argument("logs", nargs="*", help="opinion-simulation logs or dirs (default: newest in --log-dir)")
    m.add_argument("--log-dir", default="logs", help="where to look when no logs are given")
    m.add_argument("--truth", help='survey truth JSON: {"question_id": {"US" or state: {"A": share, ...}}}')
    m.add_argument("--per-state", action="store_true", help="print the per-state table of election items")
    add_output_argument(m, "--json", dest="json_out", help="write the full reports to this JSON file")
    m.set_defaults(func=run_metrics)


def collect_reports(logs: list[str], log_dir: str, truth_path: str | None) -> list[dict[str, Any]]:
    from persona_evals.commands import CommandError
    from persona_evals.logs import find_logs
    from persona_evals.opinion.results import reports

    try:
        return reports(find_logs(logs, log_dir, newest_only=False), truth_path)
    except ValueError as ex:
        raise CommandError(str(ex)) from None


def run_metrics(args: argparse.Namespace) -> int:
    from persona_evals.paths import write_text_atomic

    reports = collect_reports(args.logs, args.log_dir, args.truth)
    for report in reports:
        print(format_report(report, per_state=args.per_state))
    if args.json_out:
        write_text_atomic(args.json_out, json.dumps(reports, indent=2, default=_nan_to_none), args.overwrite)
        print(f"-> {args.json_out}")
    return 0


def _nan_to_none(x: Any) -> Any:
    return None if isinstance(x, float) and math.isnan(x) else str(x)


def format_report(report: dict[str, Any], per_state: bool = False) -> str:
    lines = [
        f"{report['log']}",
        f"  model {report['model']}  tier {report['tier']}  mode {report['mode']}  context {report['context']}",
    ]
    for qid, entry in report["questions"].items():
        dists = entry["distributions"]
        n_valid = sum(d["n_valid"] for d in dists.values())
        n_invalid = sum(d["n_invalid"] for d in dists.values())
        national = ", ".join(
            f"{entry['options'].get(k, k)}={v:.2f}" for k, v in entry["national_shares"].items()
        )
        lines.append(
            f"  [{qid}] {len(dists)} states, {n_valid} valid, {n_invalid} invalid; national shares {national}"
        )
        if "election" in entry:
            s = entry["election"]["summary"]
            if s["n_states"]:
                lines.append(
                    f"    two-party R share: mean |error| {s['mean_abs_error']:.3f}, bias {s['signed_bias']:+.3f} "
                    f"(negative = too Democratic); winners agree {s['winners_agree']}/{s['n_states']}"
                )
                lines.append(
                    f"    states won sim {s['sim_states_won']} vs real {s['real_states_won']}; "
                    f"EV sim {s['sim_electoral_votes']} vs real {s['real_electoral_votes']}"
                )
                lines.append(
                    f"    national R share: sim {s['national_sim_rep_share_population']:.3f} (adult-weighted), "
                    f"{s['national_sim_rep_share_turnout']:.3f} (turnout-weighted); real {s['national_real_rep_share']:.3f}"
                )
            if s["states_without_answers"]:
                lines.append(f"    no valid two-party answers: {', '.join(s['states_without_answers'])}")
            if per_state:
                for row in entry["election"]["states"]:
                    lines.append(
                        f"      {row['state']}: sim {row['sim_rep_share']:.2f} "
                        f"[{row['sim_rep_share_ci95'][0]:.2f}, {row['sim_rep_share_ci95'][1]:.2f}] real {row['real_rep_share']:.2f} "
                        f"({row['sim_winner']}/{row['real_winner']}) n={row['n_two_party']} invalid={row['n_invalid']}"
                    )
        if "alignment" in entry:
            scores = ", ".join(f"{k}={v:.3f}" for k, v in entry["alignment"].items())
            lines.append(f"    alignment: {scores}")
        lines += [f"    no alignment: {why}" for why in entry.get("alignment_errors", {}).values()]
    return "\n".join(lines)
