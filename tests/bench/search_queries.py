#!/usr/bin/env python3
"""The requests of the search latency benchmark (search_latency.sh): phonetic-search criteria
drawn from the persons of a loaded source, each spelled the way an operator might type it.

    search_queries.py DATABASE_URL COUNT [--seed N] > queries.tsv

DATABASE_URL is a SQLite file or a postgres:// URL (read with the sqlite3 / psql command-line
clients). A random sample of active persons with a complete birth date is read, and COUNT
queries are written, one a line, tab-separated: kind, the number of the person the query was
made from, lastName, firstName, middleName, birthDate, tolerance, gender (empty: left out of
the request). search.lua sends them and checks that the answer names that person.

The mix of kinds, out of every 9 queries (a person that does not lend itself to a kind, e.g. a
name without particle, is skipped for that kind and used for the next one):

    2  exact       last name, first first name, birth date, gender as stored
    2  typo        one letter of the last name replaced, dropped or doubled (never the first)
    1  particle    particles joined (Van den Berghe -> Vandenberghe, D'Hondt -> Dhondt) or a
                   glued one split (Vanhove -> Van Hove, Vandenberghe -> Van den Berghe)
    1  initial     first name given as its initial
    1  swapped     day and month swapped (days 1-12 only, day != month), no tolerance
    1  month       birthDate yyyy-mm-00, tolerance 1 (month)
    1  year        birthDate yyyy-00-00, tolerance 1 (year): the widest window of the mix

The gender is given when the person has one; middleName and maximum are never sent (the
default maximum, 10). This is a latency mix, not the quality benchmark's corruption model: it
exercises every kind of birth-date window and key the search uses, with a simple sanity check.
"""

import argparse
import random
import string
import subprocess
import sys
from collections import Counter

MIX = [("exact", 2), ("typo", 2), ("particle", 1), ("initial", 1), ("swapped", 1), ("month", 1), ("year", 1)]
# Particles that begin a name written as one word, longest first, and how they are split.
GLUED = [("vanden", "Van den "), ("vander", "Van der "), ("vande", "Van de "), ("van", "Van ")]

SAMPLE_SQL = (
    "SELECT ssin, last_name, first_names, birth_date, coalesce(gender, '') FROM persons "
    "WHERE status = 'ACTIVE' AND birth_date NOT LIKE '%-00%' ORDER BY random() LIMIT {n}"
)


def sample(url, n):
    """n random active persons with a complete birth date: (ssin, last, first names, date, gender)."""
    sql = SAMPLE_SQL.format(n=int(n))
    if url.startswith("postgres://") or url.startswith("postgresql://"):
        command = ["psql", "-X", "-At", "-F", "\t", url, "-c", sql]
    else:
        command = ["sqlite3", "-batch", "-separator", "\t", url, sql]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return [line.split("\t") for line in out.splitlines() if line]


def typo(name, rng):
    """One letter of the name (never the first) replaced, dropped or doubled."""
    positions = [i for i, c in enumerate(name) if i > 0 and c.isalpha()]
    if not positions:
        return None
    i = rng.choice(positions)
    change = rng.choice(["replace", "drop", "double"])
    if change == "replace":
        letter = rng.choice([c for c in string.ascii_lowercase if c != name[i].lower()])
        return name[:i] + letter + name[i + 1:]
    if change == "drop":
        return name[:i] + name[i + 1:]
    return name[:i] + name[i] + name[i:]


def particle(name):
    """Particles joined when written apart, split when glued; None for a name without."""
    if " " in name or "'" in name:
        joined = name.replace(" ", "").replace("'", "")
        return joined[0].upper() + joined[1:].lower()
    lower = name.lower()
    for glued, split in GLUED:
        rest = name[len(glued):]
        if lower.startswith(glued) and len(rest) >= 3:
            return split + rest[0].upper() + rest[1:]
    return None


def query(kind, person, rng):
    """The query of `kind` made from `person`, or None when the person does not lend itself."""
    ssin, last, first_names, birth, gender = person
    first = first_names.split(";")[0]
    year, month, day = birth.split("-")
    tolerance = ""
    if kind == "typo":
        last = typo(last, rng)
    elif kind == "particle":
        last = particle(last)
    elif kind == "initial":
        first = first[:1]
    elif kind == "swapped":
        if int(day) > 12 or day == month:
            return None
        birth, tolerance = f"{year}-{day}-{month}", "0"
    elif kind == "month":
        birth, tolerance = f"{year}-{month}-00", "1"
    elif kind == "year":
        birth, tolerance = f"{year}-00-00", "1"
    if not last or not first:
        return None
    return [kind, ssin, last, first, "", birth, tolerance, gender]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("database_url")
    parser.add_argument("count", type=int)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    # Twice as many persons as queries: some do not lend themselves to a kind (particles).
    persons = sample(args.database_url, 2 * args.count)
    if not persons:
        sys.exit("search_queries.py: no active person with a complete birth date")
    kinds = [kind for kind, weight in MIX for _ in range(weight)]
    written, counts, skipped = 0, Counter(), 0
    pending = list(persons)
    rng.shuffle(pending)
    while written < args.count and pending:
        kind = kinds[written % len(kinds)]
        # The first pending person that lends itself to this kind (particles are rarer).
        for i, person in enumerate(pending):
            made = query(kind, person, rng)
            if made:
                del pending[i]
                break
            skipped += 1
        else:
            # Nobody left for this kind: the mix goes on without it.
            kinds = [k for k in kinds if k != kind]
            if not kinds:
                break
            continue
        sys.stdout.write("\t".join(made) + "\n")
        counts[kind] += 1
        written += 1
    summary = ", ".join(f"{kind} {counts[kind]}" for kind, _ in MIX)
    print(f"search_queries.py: {written} queries from {len(persons)} persons ({summary})", file=sys.stderr)
    if written < args.count:
        sys.exit(f"search_queries.py: only {written} of {args.count} queries")


if __name__ == "__main__":
    main()
