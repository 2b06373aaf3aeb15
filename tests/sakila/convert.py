#!/usr/bin/env python3
"""Convert the Sakila PostgreSQL data to MariaDB and SQLite INSERT files.

    python3 tests/sakila/convert.py
        reads postgres-data.sql (beside this script) and writes mariadb-data.sql
        and sqlite-data.sql.

    python3 tests/sakila/convert.py --from-upstream postgres-sakila-insert-data-using-copy.sql
        reads the upstream file (COPY ... FROM stdin blocks, from github.com/jOOQ/sakila)
        and also rewrites postgres-data.sql as INSERT statements.

The input may hold COPY blocks or INSERT statements in the form this script writes.
Column types come from postgres-schema.sql; the target columns come from
mariadb-schema.sql and sqlite-schema.sql, so a PostgreSQL column that a target table
lacks is left out (customer.activebool, film.fulltext) and a target column that
PostgreSQL lacks must be listed in EXTRA_COLUMNS (payment.last_update).

Every output file splits into statements at a ';' ending a line outside quotes:
one row per line, at most ROWS_PER_STATEMENT rows per INSERT, no comment after the
last statement.
"""

import argparse
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROWS_PER_STATEMENT = 500

# Insertion order: every table after the tables it references, except the
# staff <-> store cycle, which each backend's output breaks in its own way.
ORDER = ['language', 'country', 'city', 'address', 'actor', 'category', 'film',
         'film_text', 'film_actor', 'film_category', 'staff', 'store', 'inventory',
         'customer', 'rental', 'payment']

# Target columns that the PostgreSQL data does not have: (table, column) -> function of
# the row (a dict of PostgreSQL text values) giving a PostgreSQL text value.
# MySQL's Sakila payment rows carry this constant; it is after every payment_date.
EXTRA_COLUMNS = {
    ('payment', 'last_update'): lambda row: '2006-02-15 22:12:30',
}

# Tables that only MariaDB and SQLite have: table -> (source table, columns).
DERIVED_TABLES = {
    # Upstream MySQL fills film_text from film with a trigger (ins_film), dropped here.
    'film_text': ('film', ['film_id', 'title', 'description']),
}

HEADER = {
    'postgres': ('-- Sakila sample data for PostgreSQL, one INSERT per at most %d rows.\n'
                 '-- Written by convert.py from github.com/jOOQ/sakila\n'
                 '-- postgres-sakila-db/postgres-sakila-insert-data-using-copy.sql (BSD licence, see LICENSE).\n'),
    'mariadb': ('-- Sakila sample data for MariaDB, one INSERT per at most %d rows.\n'
                '-- Written by convert.py from postgres-data.sql. Do not edit by hand.\n'),
    'sqlite': ('-- Sakila sample data for SQLite, one INSERT per at most %d rows.\n'
               '-- Written by convert.py from postgres-data.sql. Do not edit by hand.\n'),
}


# ---------------------------------------------------------------- schema reading

def create_table_bodies(sql):
    """Yield (table, [top-level items]) for each CREATE TABLE in a schema file."""
    for m in re.finditer(r'CREATE TABLE\s+(?:ONLY\s+)?[`"]?(\w+)[`"]?\s*\(', sql):
        i, depth, quote, item, items = m.end(), 1, None, '', []
        while depth:
            c = sql[i]
            i += 1
            if quote:
                item += c
                if c == quote:
                    quote = None
                continue
            if c in '\'"`':
                quote = c
            elif c == '(':
                depth += 1
            elif c == ')':
                depth -= 1
                if depth == 0:
                    break
            elif c == ',' and depth == 1:
                items.append(item)
                item = ''
                continue
            item += c
        items.append(item)
        # drop comment lines inside the column list
        items = [re.sub(r'(?m)^\s*--.*$', '', it).strip() for it in items]
        yield m.group(1), [it for it in items if it]


NOT_COLUMNS = {'PRIMARY', 'KEY', 'UNIQUE', 'CONSTRAINT', 'FULLTEXT', 'INDEX', 'CHECK', 'FOREIGN'}


def table_columns(path):
    """{table: [(column, declared type)]} from a schema file."""
    sql = open(path).read()
    out = {}
    for table, items in create_table_bodies(sql):
        cols = []
        for it in items:
            word = re.match(r'[`"]?(\w+)[`"]?\s*(.*)', it, re.S)
            first, rest = word.group(1).upper(), word.group(2).upper()
            if first in NOT_COLUMNS and (first != 'FULLTEXT' or rest.startswith(('KEY', 'INDEX'))):
                continue  # a key or constraint (PostgreSQL's film has a column named fulltext)
            cols.append((word.group(1), ' '.join(word.group(2).split())))
        out[table] = cols
    return out


def postgres_kinds(path):
    """{table: {column: kind}} with kind one of int, num, bool, ts, date, bytea, array,
    tsvector, char (blank-padded character(n)), text."""
    kinds = {}
    for table, cols in table_columns(path).items():
        k = {}
        for col, typ in cols:
            t = typ.lower()
            if t.startswith(('integer', 'smallint', 'bigint', 'year')):
                k[col] = 'int'
            elif t.startswith('numeric'):
                k[col] = 'num'
            elif t.startswith('boolean'):
                k[col] = 'bool'
            elif t.startswith('timestamp'):
                k[col] = 'ts'
            elif t.startswith('date'):
                k[col] = 'date'
            elif t.startswith('bytea'):
                k[col] = 'bytea'
            elif re.match(r'\w+(\(\d+\))?\[\]', t):
                k[col] = 'array'
            elif t.startswith('tsvector'):
                k[col] = 'tsvector'
            elif t.startswith('character('):
                k[col] = 'char'
            else:
                k[col] = 'text'
        kinds[table] = k
    return kinds


def postgres_primary_keys(path):
    sql = open(path).read()
    return {m.group(1): [c.strip() for c in m.group(2).split(',')]
            for m in re.finditer(r'ALTER TABLE ONLY (\w+)\s+ADD CONSTRAINT \w+ PRIMARY KEY \(([^)]*)\)', sql)}


# ---------------------------------------------------------------- data reading

COPY_ESCAPES = {'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t', 'v': '\v', '\\': '\\'}


def copy_field(s):
    """One field of PostgreSQL COPY text format -> text value or None."""
    if s == '\\N':
        return None
    if '\\' not in s:
        return s
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c != '\\':
            out.append(c)
            i += 1
            continue
        n = s[i + 1]
        if n in COPY_ESCAPES:
            out.append(COPY_ESCAPES[n])
            i += 2
        elif n == 'x' and re.match(r'[0-9a-fA-F]', s[i + 2:i + 3]):
            m = re.match(r'[0-9a-fA-F]{1,2}', s[i + 2:])
            out.append(chr(int(m.group(0), 16)))
            i += 2 + len(m.group(0))
        elif n in '01234567':
            m = re.match(r'[0-7]{1,3}', s[i + 1:])
            out.append(chr(int(m.group(0), 8)))
            i += 1 + len(m.group(0))
        else:
            out.append(n)
            i += 2
    return ''.join(out)


def parse_values(text, pos):
    """Parse '(v, ...), (v, ...) ;' from text[pos:]; values as PostgreSQL text or None."""
    rows = []
    token = re.compile(r"\s*(?:(NULL)|(true|false)|(-?\d+(?:\.\d+)?)|'((?:[^']|'')*)')\s*", re.I)
    while True:
        m = re.compile(r'\s*\(').match(text, pos)
        if not m:
            raise ValueError('expected ( at %r' % text[pos:pos + 40])
        pos = m.end()
        row = []
        while True:
            m = token.match(text, pos)
            if not m:
                raise ValueError('bad value at %r' % text[pos:pos + 40])
            pos = m.end()
            if m.group(1):
                row.append(None)
            elif m.group(2):
                row.append('t' if m.group(2).lower() == 'true' else 'f')
            elif m.group(3):
                row.append(m.group(3))
            else:
                row.append(m.group(4).replace("''", "'"))
            if text[pos] == ',':
                pos += 1
                continue
            if text[pos] == ')':
                pos += 1
                break
            raise ValueError('expected , or ) at %r' % text[pos:pos + 40])
        rows.append(row)
        m = re.compile(r'\s*([,;])').match(text, pos)
        if not m:
            raise ValueError('expected , or ; at %r' % text[pos:pos + 40])
        pos = m.end()
        if m.group(1) == ';':
            return rows, pos


def read_postgres_data(path):
    """-> (setval statements, {table: (columns, rows)}) from COPY blocks or INSERTs."""
    text = open(path).read()
    setvals, tables = [], {}

    def add(table, cols, rows):
        if table in tables:
            if tables[table][0] != cols:
                raise ValueError('%s: columns differ between statements' % table)
            tables[table][1].extend(rows)
        else:
            tables[table] = (cols, list(rows))

    lines = text.split('\n')
    i = 0
    while i < len(lines):
        line = lines[i]
        m = re.match(r'COPY (?:\w+\.)?(\w+) \(([^)]*)\) FROM stdin;$', line)
        if m:
            cols = [c.strip() for c in m.group(2).split(',')]
            rows = []
            i += 1
            while lines[i] != '\\.':
                fields = [copy_field(f) for f in lines[i].split('\t')]
                if len(fields) != len(cols):
                    raise ValueError('%s line %d: %d fields for %d columns'
                                     % (m.group(1), i + 1, len(fields), len(cols)))
                rows.append(fields)
                i += 1
            add(m.group(1), cols, rows)
            i += 1
            continue
        if re.match(r'SELECT pg_catalog\.setval\(', line):
            setvals.append(line.strip())
        m = re.match(r'INSERT INTO (?:\w+\.)?(\w+) \(([^)]*)\) VALUES\b', line)
        if m:
            cols = [c.strip() for c in m.group(2).split(',')]
            rest = '\n'.join(lines[i:])
            rows, end = parse_values(rest, m.end())
            for r in rows:
                if len(r) != len(cols):
                    raise ValueError('%s: %d values for %d columns' % (m.group(1), len(r), len(cols)))
            add(m.group(1), cols, rows)
            i += rest.count('\n', 0, end) + 1
            continue
        i += 1
    return setvals, tables


# ---------------------------------------------------------------- value writing

TS = re.compile(r'^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$')
DATE = re.compile(r'^\d{4}-\d\d-\d\d$')
NUM = re.compile(r'^-?\d+(\.\d+)?$')


def quote(s, backslashes=False):
    if backslashes:  # MariaDB without NO_BACKSLASH_ESCAPES
        s = s.replace('\\', '\\\\').replace('\0', '\\0')
    return "'" + s.replace("'", "''") + "'"


def parse_array(s):
    """PostgreSQL one-dimensional text[] literal -> list of str."""
    if not (s.startswith('{') and s.endswith('}')):
        raise ValueError('not an array: %r' % s)
    body, out, i = s[1:-1], [], 0
    while i < len(body):
        if body[i] == '"':
            j, item = i + 1, ''
            while body[j] != '"':
                if body[j] == '\\':
                    j += 1
                item += body[j]
                j += 1
            out.append(item)
            i = j + 1
        else:
            j = body.find(',', i)
            j = len(body) if j < 0 else j
            item = body[i:j].strip()
            if item.upper() == 'NULL':
                raise ValueError('NULL array element in %r' % s)
            out.append(item)
            i = j
        if i < len(body):
            if body[i] != ',':
                raise ValueError('bad array %r' % s)
            i += 1
    return out


def bytea_hex(v):
    if v.startswith('\\x'):
        return v[2:]
    # escape format: backslash octal escapes
    out, i = bytearray(), 0
    while i < len(v):
        if v[i] == '\\':
            if v[i + 1] == '\\':
                out.append(0x5c)
                i += 2
            else:
                out.append(int(v[i + 1:i + 4], 8))
                i += 4
        else:
            out.append(ord(v[i]))
            i += 1
    return out.hex()


def literal(v, kind, target):
    """PostgreSQL text value of a column of `kind` -> SQL literal for `target`."""
    if v is None:
        return 'NULL'
    if kind in ('int', 'num'):
        if not NUM.match(v):
            raise ValueError('not a number: %r' % v)
        return v
    if kind == 'bool':
        if v not in ('t', 'f'):
            raise ValueError('not a boolean: %r' % v)
        if target == 'postgres':
            return 'true' if v == 't' else 'false'
        return '1' if v == 't' else '0'
    if kind == 'ts':
        if not TS.match(v):
            raise ValueError('unexpected timestamp: %r' % v)
        return quote(v)
    if kind == 'date':
        if not DATE.match(v):
            raise ValueError('unexpected date: %r' % v)
        # the MariaDB and SQLite columns are DATETIME / TIMESTAMP
        return quote(v if target == 'postgres' else v + ' 00:00:00')
    if kind == 'bytea':
        if target == 'postgres':
            return quote('\\x' + bytea_hex(v))
        return "X'" + bytea_hex(v) + "'"
    if kind == 'array':
        if target == 'postgres':
            return quote(v)
        items = parse_array(v)
        if any(',' in x for x in items):
            raise ValueError('array item with a comma: %r' % v)
        return quote(','.join(items), backslashes=(target == 'mariadb'))
    if kind == 'char' and target != 'postgres':
        v = v.rstrip(' ')  # character(n) padding: MariaDB strips it, SQLite would keep it
    return quote(v, backslashes=(target == 'mariadb'))


# ---------------------------------------------------------------- output

def insert_statements(table, cols, rows):
    out = []
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        chunk = rows[start:start + ROWS_PER_STATEMENT]
        lines = ['(' + ', '.join(r) + ')' for r in chunk]
        out.append('INSERT INTO %s (%s) VALUES\n%s;\n' % (table, ', '.join(cols), ',\n'.join(lines)))
    return out


def sort_rows(table, cols, rows, pks):
    key_idx = [cols.index(c) for c in pks.get(table, [cols[0]])]
    return sorted(rows, key=lambda r: [int(r[i]) for i in key_idx])


def write_postgres(path, setvals, data, kinds, pks):
    parts = [HEADER['postgres'] % ROWS_PER_STATEMENT,
             '-- staff and store reference each other: staff is inserted with its triggers\n'
             '-- (its foreign key checks) disabled, which needs a superuser.\n\n']
    parts += [s + '\n' for s in setvals]
    for table in ORDER:
        if table not in data:
            continue
        cols, rows = data[table]
        lit = [[literal(v, kinds[table][c], 'postgres') for c, v in zip(cols, r)]
               for r in sort_rows(table, cols, rows, pks)]
        if table == 'staff':
            parts.append('ALTER TABLE staff DISABLE TRIGGER ALL;\n')
        parts += insert_statements(table, cols, lit)
        if table == 'staff':
            parts.append('ALTER TABLE staff ENABLE TRIGGER ALL;\n')
    parts.append('ANALYZE;\n')
    open(path, 'w').write(''.join(parts))


def target_rows(target, table, tcols, data, kinds, pks):
    """Rows of literals for a target table, its columns taken from the PostgreSQL data."""
    src_table, src_cols = table, tcols
    if table in DERIVED_TABLES:
        src_table, src_cols = DERIVED_TABLES[table]
        if src_cols != tcols:
            raise ValueError('%s: columns %s, expected %s' % (table, tcols, src_cols))
    cols, rows = data[src_table]
    out = []
    for r in sort_rows(src_table, cols, rows, pks):
        row = dict(zip(cols, r))
        lits = []
        for c in tcols:
            if c in row:
                lits.append(literal(row[c], kinds[src_table][c], target))
            elif (table, c) in EXTRA_COLUMNS:
                lits.append(literal(EXTRA_COLUMNS[(table, c)](row), 'ts', target))
            else:
                raise ValueError('%s.%s: no value for %s' % (table, c, target))
        out.append(lits)
    return out


def write_target(target, path, data, kinds, pks, schema_path):
    tcols = {t: [c for c, _ in cs] for t, cs in table_columns(schema_path).items()}
    missing = set(tcols) - set(ORDER)
    if missing:
        raise ValueError('%s tables not in ORDER: %s' % (target, sorted(missing)))
    parts = [HEADER[target] % ROWS_PER_STATEMENT]
    if target == 'mariadb':
        parts.append('-- staff and store reference each other: fk_staff_store is dropped while\n'
                     '-- both are filled and then added again, as mariadb-schema.sql adds it.\n')
    else:
        parts.append('-- staff and store reference each other: fk_staff_store is deferred, so both\n'
                     '-- go in under one savepoint (run this file on one connection).\n')
    parts.append('\n')
    for table in ORDER:
        if table not in tcols:
            continue
        if table == 'staff':
            parts.append('ALTER TABLE staff DROP FOREIGN KEY fk_staff_store;\n' if target == 'mariadb'
                         else 'SAVEPOINT staff_store;\n')
        parts += insert_statements(table, tcols[table],
                                   target_rows(target, table, tcols[table], data, kinds, pks))
        if table == 'store':
            parts.append('ALTER TABLE staff ADD CONSTRAINT fk_staff_store FOREIGN KEY (store_id) '
                         'REFERENCES store (store_id) ON DELETE RESTRICT ON UPDATE CASCADE;\n'
                         if target == 'mariadb' else 'RELEASE staff_store;\n')
    open(path, 'w').write(''.join(parts))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--from-upstream', metavar='FILE',
                    help='upstream PostgreSQL data (COPY blocks); also rewrites postgres-data.sql')
    args = ap.parse_args()
    kinds = postgres_kinds(os.path.join(HERE, 'postgres-schema.sql'))
    pks = postgres_primary_keys(os.path.join(HERE, 'postgres-schema.sql'))
    source = args.from_upstream or os.path.join(HERE, 'postgres-data.sql')
    setvals, data = read_postgres_data(source)
    unknown = set(data) - set(ORDER)
    if unknown:
        raise ValueError('tables not in ORDER: %s' % sorted(unknown))
    if args.from_upstream:
        write_postgres(os.path.join(HERE, 'postgres-data.sql'), setvals, data, kinds, pks)
    write_target('mariadb', os.path.join(HERE, 'mariadb-data.sql'), data, kinds, pks,
                 os.path.join(HERE, 'mariadb-schema.sql'))
    write_target('sqlite', os.path.join(HERE, 'sqlite-data.sql'), data, kinds, pks,
                 os.path.join(HERE, 'sqlite-schema.sql'))
    for table in ORDER:
        if table in data:
            print('%-14s %6d rows' % (table, len(data[table][1])), file=sys.stderr)


if __name__ == '__main__':
    main()
