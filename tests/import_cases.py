"""The malformed-file matrix's cases: per format a small valid file set (``BASE``), and one damage per
case with its expected outcome: ``rejected <file> line <n> <field>: <reason>``, ``stopped: <part of the
one-line message>`` or ``read: <what must come through unaltered>``."""

import gzip

from ml.ingest.importers.movielens import ML100K_GENRES


def item_line(item_id: int, title: str, genre: str) -> str:
    flags = ["1" if g == genre else "0" for g in ML100K_GENRES]
    return "|".join([str(item_id), title, "01-Jan-1995", "", "http://x", *flags])


BASE = {
    "movielens-100k": {
        "u.data": "1\t10\t5\t875000000\n1\t20\t3\t875000100\n2\t10\t4\t875000200\n2\t20\t1\t875000300\n",
        "u.item": item_line(10, "Heat (1995)", "Action") + "\n" + item_line(20, "Amélie (2001)", "Comedy") + "\n",
        "u.user": "1|24|M|student|12345\n2|30|F|artist|54321\n",
    },
    "movielens-1m": {
        "ratings.dat": "1::10::5::978300760\n1::20::3::978302109\n2::10::4::978301968\n",
        "movies.dat": "10::Heat (1995)::Action|Crime\n20::Amélie (2001)::Comedy|Romance\n",
        "users.dat": "1::F::1::10::48067\n2::M::56::16::70072\n",
    },
    "movielens-10m": {
        "ratings.dat": "7::10::4.5::1100000000\n8::10::0.5::1100000001\n",
        "movies.dat": "10::Heat (1995)::Action\n",
    },
    "movielens-latest": {
        "ratings.csv": "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,3,5.0,964981247\n2,1,2.5,964982224\n",
        "movies.csv": 'movieId,title,genres\n1,Toy Story (1995),Adventure|Animation\n3,"City, The (1990)",Drama\n',
    },
    "retailrocket": {
        "events.csv": "timestamp,visitorid,event,itemid,transactionid\n1433221332117,257597,view,355908,\n"
        "1433224214164,992329,view,248676,\n1433221955914,257597,addtocart,355908,\n",
        "item_properties_part1.csv": "timestamp,itemid,property,value\n1435460400000,355908,categoryid,1338\n",
    },
    "amazon-reviews": {
        "reviews.json": '{"reviewerID": "A2", "asin": "B01", "overall": 5.0, "unixReviewTime": 1400000000}\n'
        '{"reviewerID": "A1", "asin": "B02", "overall": 2.0, "unixReviewTime": 1400000100}\n'
        '{"reviewerID": "A1", "asin": "B01", "overall": 4.0, "unixReviewTime": 1400000200}\n',
        "meta_x.json": '{"asin": "B01", "title": "A book"}\n{"asin": "B02", "title": "Another"}\n',
    },
}
RATINGS = {"movielens-100k": "u.data", "movielens-1m": "ratings.dat", "movielens-10m": "ratings.dat"}
RATINGS |= {"movielens-latest": "ratings.csv", "retailrocket": "events.csv", "amazon-reviews": "reviews.json"}


def line(fmt: str, file: str, number: int, text: str):
    """A damage: line ``number`` (1-based, header included) of ``file`` becomes ``text`` (None: the line goes)."""

    def damage(files: dict[str, str]) -> None:
        rows = files[file].split("\n")
        rows[number - 1 : number] = [] if text is None else [text]
        files[file] = "\n".join(rows)

    return damage


def whole(file: str, text: str | bytes):
    def damage(files: dict) -> None:
        files[file] = text

    return damage


ML, LATEST, RR, AZ = "movielens-100k", "movielens-latest", "retailrocket", "amazon-reviews"
CASES = [  # format, case, damage, outcome ("rejected <file> line <n> <field>: <reason>" or "stopped: <message part>")
    (ML, "empty rating", line(ML, "u.data", 2, "1\t20\t\t875000100"), "rejected u.data line 2 rating: missing_value"),
    (ML, "truncated line", line(ML, "u.data", 2, "1\t20"), "rejected u.data line 2 (row): expected 4 fields, found 2"),
    (ML, "rating 11", line(ML, "u.data", 2, "1\t20\t11\t875000100"), "rejected u.data line 2 rating: outside 1-5 (whole stars)"),
    (
        ML,
        "half star in 100k",
        line(ML, "u.data", 3, "2\t10\t4.5\t875000200"),
        "rejected u.data line 3 rating: outside 1-5 (whole stars)",
    ),
    (ML, "missing item id", line(ML, "u.data", 1, "1\t\t5\t875000000"), "rejected u.data line 1 item_id: missing_value"),
    (ML, "float item id", line(ML, "u.data", 1, "1\t10.0\t5\t875000000"), "rejected u.data line 1 item_id: not_an_integer_id"),
    (
        ML,
        "non-numeric timestamp",
        line(ML, "u.data", 4, "2\t20\t1\tyesterday"),
        "rejected u.data line 4 ts: not_an_integer_timestamp",
    ),
    (
        ML,
        "genre flag 2",
        line(ML, "u.item", 2, item_line(20, "Amélie (2001)", "Comedy").replace("|1|", "|2|")),
        "rejected u.item line 2 Comedy: not 0 or 1",
    ),
    (
        ML,
        "repeated item id",
        line(ML, "u.item", 2, item_line(10, "Heat again", "Drama")),
        "rejected u.item line 2 item_id: duplicate_id",
    ),
    (
        ML,
        "comma-separated u.data",
        whole("u.data", "1,10,5,875000000\n1,20,3,875000100\n"),
        "stopped: u.data line 1: expected 4 tab-separated fields, found 1 (is it comma-separated?)",
    ),
    (ML, "timestamps in milliseconds", whole("u.data", "1\t10\t5\t875000000000\n"), "stopped: they look like milliseconds"),
    (ML, "empty u.item", whole("u.item", ""), "stopped: u.item: the file is empty"),
    (ML, "gzip under a plain name", whole("u.data", gzip.compress(BASE[ML]["u.data"].encode())), "read: 4 events"),
    (ML, "latin-1 u.item", whole("u.item", BASE[ML]["u.item"].encode("latin-1")), "read: title Amélie (2001)"),
    (ML, "repeated line", line(ML, "u.data", 4, "1\t10\t5\t875000000"), "read: lines 1 and 4 share event id 1"),
    (
        "movielens-1m",
        ":: inside a title",
        line("movielens-1m", "movies.dat", 2, "20::Amélie::Le Fabuleux (2001)::Comedy"),
        "read: title Amélie::Le Fabuleux (2001)",
    ),
    (
        "movielens-1m",
        "UTF-8 movies.dat",
        whole("movies.dat", BASE["movielens-1m"]["movies.dat"].encode()),
        "read: title Amélie (2001)",
    ),
    (
        "movielens-1m",
        "age 17 in users.dat",
        line("movielens-1m", "users.dat", 1, "1::F::17::10::48067"),
        "rejected users.dat line 1 age: not one of 1, 18, 25, 35, 45, 50, 56",
    ),
    (
        "movielens-10m",
        "rating 5.5",
        line("movielens-10m", "ratings.dat", 1, "7::10::5.5::1100000000"),
        "rejected ratings.dat line 1 rating: outside 0.5-5 (half stars)",
    ),
    (
        LATEST,
        "header-only ratings.csv",
        whole("ratings.csv", "userId,movieId,rating,timestamp\n"),
        "stopped: ratings.csv: a header but no rows",
    ),
    (
        LATEST,
        "semicolon-separated",
        whole("ratings.csv", "userId;movieId;rating;timestamp\n1;1;4.0;964982703\n"),
        "stopped: (is it semicolon-separated?",
    ),
    (
        LATEST,
        "missing movieId",
        line(LATEST, "ratings.csv", 3, "1,,5.0,964981247"),
        "rejected ratings.csv line 3 movieId: missing_value",
    ),
    (
        LATEST,
        "rating 50",
        line(LATEST, "ratings.csv", 2, "1,1,50,964982703"),
        "rejected ratings.csv line 2 rating: outside 0.5-5 (half stars)",
    ),
    (
        LATEST,
        "rating nan",
        line(LATEST, "ratings.csv", 2, "1,1,nan,964982703"),
        "rejected ratings.csv line 2 rating: not_a_number",
    ),
    (
        LATEST,
        "latin-1 title",
        whole("movies.csv", "movieId,title,genres\n1,Amélie (2001),Comedy\n".encode("latin-1")),
        "read: title Amélie (2001)",
    ),
    (
        RR,
        "missing itemid",
        line(RR, "events.csv", 3, "1433224214164,992329,view,,"),
        "rejected events.csv line 3 itemid: missing_value",
    ),
    (
        RR,
        "no properties, missing itemid",
        line(RR, "events.csv", 3, "1433224214164,992329,view,,"),
        "rejected events.csv line 3 itemid: missing_value",
    ),
    (
        RR,
        "unknown event",
        line(RR, "events.csv", 2, "1433221332117,257597,click,355908,"),
        "rejected events.csv line 2 event: not one of addtocart, transaction, view",
    ),
    (
        RR,
        "timestamps in seconds",
        whole("events.csv", "timestamp,visitorid,event,itemid\n1433221332,257597,view,355908\n"),
        "stopped: they look like seconds",
    ),
    (
        AZ,
        "overall null",
        line(AZ, "reviews.json", 2, '{"reviewerID": "A1", "asin": "B02", "overall": null, "unixReviewTime": 1400000100}'),
        "rejected reviews.json line 2 rating: missing_value",
    ),
    (
        AZ,
        "overall absent",
        line(AZ, "reviews.json", 2, '{"reviewerID": "A1", "asin": "B02", "unixReviewTime": 1400000100}'),
        "rejected reviews.json line 2 rating: missing_value",
    ),
    (
        AZ,
        "rating 11",
        line(AZ, "reviews.json", 1, '{"reviewerID": "A2", "asin": "B01", "overall": 11, "unixReviewTime": 1400000000}'),
        "rejected reviews.json line 1 rating: outside 1-5 (whole stars)",
    ),
    (
        AZ,
        "bad JSON line",
        line(AZ, "reviews.json", 2, '{"reviewerID": "A1", "asin": '),
        "rejected reviews.json line 2 (row): not JSON: Expecting value",
    ),
    (AZ, "not JSON at all", whole("reviews.json", "reviewerID,asin\nA1,B01\n"), "stopped: reviews.json line 1: not JSON"),
    (AZ, "gzip under a plain name", whole("reviews.json", gzip.compress(BASE[AZ]["reviews.json"].encode())), "read: 3 events"),
]
