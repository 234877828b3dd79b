"""medins.bulk.pg_array: the array literal the bulk services send as one parameter must read back
as exactly the values given, quotes and backslashes included (ID numbers and codes never hold
them, so the common path joins without escaping; the rare one escapes each element)."""

import pytest
from django.db import connection

from medins.bulk import pg_array


@pytest.mark.django_db
@pytest.mark.parametrize("values", [
    ["110101199001011234", "11010119900101123X"],
    ["", "diabetes", ""],
    ['say "hi"', "back\\slash", 'both \\"', "逗号,与空格 "],
    [""],
])
def test_a_text_array_reads_back_as_given(values):
    if connection.vendor != "postgresql":
        pytest.skip("array literals are PostgreSQL's")
    literal, cast = pg_array(values)
    assert cast == "text[]"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT %s::{cast}", [literal])
        assert cursor.fetchone()[0] == values


@pytest.mark.django_db
def test_an_int_array_reads_back_as_given():
    if connection.vendor != "postgresql":
        pytest.skip("array literals are PostgreSQL's")
    literal, cast = pg_array([3, 1, 2])
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT %s::{cast}", [literal])
        assert cursor.fetchone()[0] == [3, 1, 2]
