# The sqlite3 shell (-init /dev/null: no ~/.sqliterc, so no passwd lookup).
set -e
sqlite3 -init /dev/null test.db <<'SQL'
create table fruit(name text, qty int);
insert into fruit values ('apple', 3), ('banana', 5), ('cherry', 7);
select name, qty * 2 from fruit order by qty desc;
select count(*), sum(qty), group_concat(name, '+') from fruit;
.mode csv
select * from fruit where qty > 3;
SQL
rm -f test.db
