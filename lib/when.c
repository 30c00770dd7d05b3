#include "when.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int64_t
when_now(void)
{
    const char *fixed = getenv("COLDMAIL_TEST_NOW");

    if (fixed != NULL && *fixed != '\0')
        return strtoll(fixed, NULL, 10);
    return (int64_t)time(NULL);
}

static void
to_tm(int64_t t, struct tm *tm)
{
    time_t tt = (time_t)t;

    if (gmtime_r(&tt, tm) == NULL)
        memset(tm, 0, sizeof *tm);
}

void
when_format_iso(char out[WHEN_ISO_LEN], int64_t t)
{
    struct tm tm;

    to_tm(t, &tm);
    if (strftime(out, WHEN_ISO_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, WHEN_ISO_LEN, "1970-01-01T00:00:00Z");
}

void
when_format_stamp(char out[WHEN_STAMP_LEN], int64_t t)
{
    struct tm tm;

    to_tm(t, &tm);
    if (strftime(out, WHEN_STAMP_LEN, "%Y%m%dT%H%M%SZ", &tm) == 0)
        snprintf(out, WHEN_STAMP_LEN, "19700101T000000Z");
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int
days_in_month(int y, int mo)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30,
                                 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return mo == 2 && leap ? 29 : days[mo - 1];
}

static int
valid_fields(int y, int mo, int d, int h, int mi, int s)
{
    return y >= 1900 && y <= 9999 && mo >= 1 && mo <= 12 && d >= 1 &&
           d <= days_in_month(y, mo) && h >= 0 && h <= 23 && mi >= 0 &&
           mi <= 59 && s >= 0 && s <= 60;
}

static int64_t
epoch_of(int y, int mo, int d, int h, int mi, int s)
{
    return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
}

int
when_parse(const char *s, int64_t *out, struct cm_err *err)
{
    const char *orig = s;
    int y, mo, d, h = 0, mi = 0, sec = 0, n = 0;
    char sep;

    if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3)
        goto bad;
    s += n;
    if (*s == 'T' || *s == ' ') {
        sep = *s++;
        if (sscanf(s, "%2d:%2d%n", &h, &mi, &n) != 2)
            goto bad;
        s += n;
        if (*s == ':') {
            if (sscanf(s + 1, "%2d%n", &sec, &n) != 1)
                goto bad;
            s += 1 + n;
        }
        if (sep == 'T' && *s == 'Z')
            s++;
    }
    if (*s != '\0' || !valid_fields(y, mo, d, h, mi, sec))
        goto bad;
    *out = epoch_of(y, mo, d, h, mi, sec);
    return 0;
bad:
    return cm_fail(err, CM_EUSAGE,
                   "bad date \"%s\" (expected YYYY-MM-DD or "
                   "YYYY-MM-DDThh:mm:ssZ)",
                   orig);
}

static const char *const months[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                     "jul", "aug", "sep", "oct", "nov", "dec"};

struct cursor {
    const char *p, *end;
};

/* Skip white space and RFC 5322 comments "( ... )". */
static void
skip_cfws(struct cursor *c)
{
    int depth = 0;

    while (c->p < c->end) {
        if (*c->p == '(')
            depth++;
        else if (*c->p == ')' && depth > 0)
            depth--;
        else if (depth == 0 && !isspace((unsigned char)*c->p) && *c->p != ',')
            break;
        c->p++;
    }
}

static int
read_number(struct cursor *c, int maxdigits, int *out)
{
    int v = 0, n = 0;

    skip_cfws(c);
    while (c->p < c->end && n < maxdigits && isdigit((unsigned char)*c->p)) {
        v = v * 10 + (*c->p++ - '0');
        n++;
    }
    *out = v;
    return n;
}

static int
read_word(struct cursor *c, char *out, size_t outlen)
{
    size_t n = 0;

    skip_cfws(c);
    while (c->p < c->end && isalpha((unsigned char)*c->p)) {
        if (n + 1 < outlen)
            out[n++] = (char)tolower((unsigned char)*c->p);
        c->p++;
    }
    out[n] = '\0';
    return (int)n;
}

/* A zone: "+hhmm", "-hhmm" (also "+hh:mm"), a name, or none (UTC). */
static int
zone_offset(struct cursor *c, int *minutes)
{
    static const struct {
        const char *name;
        int off;
    } zones[] = {{"ut", 0},     {"gmt", 0},    {"z", 0},      {"est", -300},
                 {"edt", -240}, {"cst", -360}, {"cdt", -300}, {"mst", -420},
                 {"mdt", -360}, {"pst", -480}, {"pdt", -420}, {"utc", 0}};
    char word[8];
    int v, mm, sign = 1, n;

    skip_cfws(c);
    *minutes = 0;
    if (c->p < c->end && (*c->p == '+' || *c->p == '-')) {
        sign = *c->p++ == '-' ? -1 : 1;
        n = read_number(c, 4, &v);
        if (n == 2 && c->p < c->end && *c->p == ':') {
            c->p++;
            if (read_number(c, 2, &mm) != 2)
                return -1;
            v = v * 100 + mm;
        } else if (n != 4) {
            return -1;
        }
        if (v % 100 > 59)
            return -1;
        *minutes = sign * (v / 100 * 60 + v % 100);
        return 0;
    }
    if (read_word(c, word, sizeof word) == 0)
        return 0; /* no zone: take it as UTC */
    for (size_t i = 0; i < CM_ARRAY_LEN(zones); i++)
        if (strcmp(word, zones[i].name) == 0)
            *minutes = zones[i].off;
    return 0;
}

/* A month name (its first three letters count), 1..12, or -1. */
static int
read_month(struct cursor *c)
{
    char word[16];

    if (read_word(c, word, sizeof word) < 3)
        return -1;
    for (int i = 0; i < 12; i++)
        if (strncmp(word, months[i], 3) == 0)
            return i + 1;
    return -1;
}

/* A year of 2 to 4 digits; obsolete short years per RFC 5322 4.3. */
static int
read_year(struct cursor *c, int *y)
{
    int n = read_number(c, 4, y);

    if (n < 2)
        return -1;
    if (n <= 3)
        *y += *y < 50 && n == 2 ? 2000 : 1900;
    return 0;
}

/* "hh:mm[:ss]", white space and comments allowed around the colons. */
static int
read_time(struct cursor *c, int *h, int *mi, int *sec)
{
    *sec = 0;
    if (read_number(c, 2, h) == 0)
        return -1;
    skip_cfws(c);
    if (c->p >= c->end || *c->p++ != ':' || read_number(c, 2, mi) == 0)
        return -1;
    skip_cfws(c);
    if (c->p < c->end && *c->p == ':') {
        c->p++;
        if (read_number(c, 2, sec) == 0)
            return -1;
    }
    return 0;
}

struct civil {
    int y, mo, d, h, mi, sec, zone;
};

/* RFC 5322 (and obsolete) order: "1 Jul 2003 10:52:37 +0200". */
static int
parse_rfc(struct cursor *c, struct civil *t)
{
    if (read_number(c, 2, &t->d) == 0 || (t->mo = read_month(c)) < 0 ||
        read_year(c, &t->y) == -1 || read_time(c, &t->h, &t->mi, &t->sec) == -1)
        return -1;
    return zone_offset(c, &t->zone);
}

/* asctime order, seen in old mail: "Jul  1 10:52:37 [EDT] 2003". */
static int
parse_asctime(struct cursor *c, struct civil *t)
{
    if ((t->mo = read_month(c)) < 0 || read_number(c, 2, &t->d) == 0 ||
        read_time(c, &t->h, &t->mi, &t->sec) == -1 ||
        zone_offset(c, &t->zone) == -1)
        return -1;
    return read_number(c, 4, &t->y) == 4 ? 0 : -1;
}

int
when_parse_rfc5322(const char *s, size_t len, int64_t *out)
{
    struct cursor c = {s, s + len};
    struct civil t;
    char word[16];
    int rc;

    skip_cfws(&c);
    /* An optional day name: "Tue," */
    if (c.p < c.end && isalpha((unsigned char)*c.p))
        read_word(&c, word, sizeof word);
    skip_cfws(&c);
    if (c.p < c.end && isalpha((unsigned char)*c.p))
        rc = parse_asctime(&c, &t);
    else
        rc = parse_rfc(&c, &t);
    if (rc == -1 || !valid_fields(t.y, t.mo, t.d, t.h, t.mi, t.sec))
        return -1;
    *out = epoch_of(t.y, t.mo, t.d, t.h, t.mi, t.sec) - (int64_t)t.zone * 60;
    return 0;
}
