"""Write examples/accounts.csv and examples/payments.csv: synthetic, deterministic (fixed seed).

A few hundred accounts in en-US and zh-CN with valid US and China numbers (US numbers in the
fictional 555-01xx range), a spread of days past due, balances and time zones, some customers with
several cards, a few with an alternate number, and payments for some of them.

    python examples/generate.py [--accounts 300] [--out examples]
"""

from __future__ import annotations

import argparse
import csv
import random
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

SEED = 20261129
AS_OF = date(2026, 11, 20)

US_AREAS = [
    ("212", "America/New_York"),
    ("617", "America/New_York"),
    ("305", "America/New_York"),
    ("312", "America/Chicago"),
    ("214", "America/Chicago"),
    ("303", "America/Denver"),
    ("602", "America/Phoenix"),
    ("208", None),  # Idaho: two zones; the policy keeps to their overlap
    ("415", "America/Los_Angeles"),
    ("206", "America/Los_Angeles"),
    ("907", "America/Anchorage"),
    ("808", "Pacific/Honolulu"),
]
CN_PREFIXES = ["138", "139", "150", "186", "136", "158"]
EN_FIRST = ["James", "Mary", "Robert", "Patricia", "John", "Jennifer"]
EN_FIRST += ["Michael", "Linda", "David", "Elizabeth", "Maria", "Daniel"]
EN_LAST = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia"]
EN_LAST += ["Miller", "Davis", "Rodriguez", "Martinez", "Lee", "Walker"]
ZH_SURNAME = ["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周"]
ZH_GIVEN = [
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
]


def _money(rng: random.Random, lo: int, hi: int) -> Decimal:
    return Decimal(rng.randint(lo * 100, hi * 100)) / 100


def generate(count: int) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    rng = random.Random(SEED)
    accounts: list[dict[str, str]] = []
    payments: list[dict[str, str]] = []
    customer = 0
    while len(accounts) < count:
        customer += 1
        chinese = rng.random() < 0.35
        cards = 1 if rng.random() < 0.85 else rng.choice([2, 3])
        if chinese:
            name = rng.choice(ZH_SURNAME) + rng.choice(ZH_GIVEN) + rng.choice(["", *ZH_GIVEN])
            phone = f"+86{rng.choice(CN_PREFIXES)}{rng.randint(0, 99_999_999):08d}"
            tz = "Asia/Shanghai" if rng.random() < 0.7 else ""
            language, currency = "zh-CN", "CNY"
        else:
            name = f"{rng.choice(EN_FIRST)} {rng.choice(EN_LAST)}"
            area, zone = rng.choice(US_AREAS)
            phone = f"+1{area}55501{rng.randint(0, 99):02d}"
            tz = zone if zone and rng.random() < 0.6 else ""
            language, currency = "en-US", "USD"
        birth = date(1950, 1, 1) + timedelta(days=rng.randint(0, 365 * 50))
        alt = ""
        if rng.random() < 0.1 and not chinese:
            alt = phone
            while alt == phone:  # an alternate number is another number
                alt = f"+1{rng.choice(US_AREAS)[0]}55501{rng.randint(0, 99):02d}"
        for card in range(cards):
            if len(accounts) >= count:
                break
            account_id = f"{4000_0000 + len(accounts) * 37 + rng.randint(0, 36)}"
            dpd = rng.choice(
                [rng.randint(1, 29), rng.randint(30, 59), rng.randint(60, 89), rng.randint(90, 180)]
            )
            balance = _money(rng, 150, 12_000) if not chinese else _money(rng, 800, 80_000)
            minimum = min(
                balance,
                max(Decimal("25.00"), (balance * Decimal("0.03")).quantize(Decimal("0.01"))),
            )
            due = AS_OF - timedelta(days=dpd)
            status = "open" if rng.random() < 0.94 else rng.choice(["closed", "charged_off"])
            row = {
                "account_id": account_id,
                "name": name,
                "phone": phone,
                "language": language,
                "timezone": tz,
                "balance": f"{balance:.2f}",
                "minimum_due": f"{minimum:.2f}",
                "due_date": due.isoformat(),
                "days_past_due": str(dpd),
                "card_last4": f"{rng.randint(0, 9999):04d}",
                "birth_date": birth.isoformat(),
                "customer_id": f"C{customer:05d}" if cards > 1 else "",
                "status": status,
                "balance_as_of": AS_OF.isoformat(),
                "alt_phone": alt if card == 0 else "",
                "email": "",
                "sms_consent": "" if rng.random() < 0.9 else "false",
                "voice_consent": "yes" if alt and card == 0 else "",
                "currency": currency,
            }
            accounts.append(row)
            if rng.random() < 0.3:
                paid = min(balance, _money(rng, 20, 500))
                payments.append(
                    {
                        "payment_id": f"P{len(payments) + 1:06d}",
                        "account_id": account_id,
                        "amount": f"{paid:.2f}",
                        "paid_at": (AS_OF + timedelta(days=rng.randint(-3, 8))).isoformat(),
                    }
                )
    return accounts, payments


def write(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=300)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent)
    args = parser.parse_args()
    accounts, payments = generate(args.accounts)
    write(args.out / "accounts.csv", accounts)
    write(args.out / "payments.csv", payments)
    print(f"wrote {len(accounts)} accounts and {len(payments)} payments to {args.out}")


if __name__ == "__main__":
    main()
