/*
** cu_oslib.c: the 'os' library a browser can honour: time, clock, date, difftime,
** getenv (always nil), setlocale (only the "C" locale) and exit. There are no processes
** and no file system, so os.execute, os.remove, os.rename and os.tmpname are absent.
** Modelled on Lua's loslib.c. There is no libc time either: the calendar arithmetic and
** the strftime conversions are our own, written to print what glibc prints in the "C"
** locale. The clocks and the local zone come from the host (cu_host.h).
*/

#define LUA_LIB

#include <limits.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>

#include "lua.h"

#include "lauxlib.h"

#include "cu_host.h"


/* the C99 list of loslib.c: options grouped by length, the 2-char group after '||' */
#define L_STRFTIMEOPTIONS  "aAbBcCdDeFgGhHIjmMnprRStTuUVwWxXyYzZ%" \
    "||" "EcECExEXEyEY" "OdOeOHOIOmOMOSOuOUOVOwOWOy"


/*
** {======================================================
** Calendar arithmetic (proleptic Gregorian, 64-bit days)
** =======================================================
*/

typedef struct CuTm {  /* a broken-down time, as glibc's 'struct tm' */
  int year;  /* years since 1900 */
  int mon, mday, hour, min, sec;  /* mon is 0-11 */
  int wday, yday;  /* wday is 0-6 from Sunday, yday is 0-365 */
  int isdst;  /* daylight saving time is in effect */
  long long off;  /* seconds east of UTC */
  int utc;  /* made by '!' (gmtime) */
} CuTm;


/* days from 1970-01-01 to year 'y', month 'm' (1-12), day 'd' */
static long long days_from_civil (long long y, int m, int d) {
  long long era, yoe;
  y -= (m <= 2);
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = y - era * 400;
  return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100
       + (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1 - 719468;
}


/* Breaks local time 't + off' down into 'tm'; fails (as glibc's gmtime and localtime
   do) when the year does not fit in an int. */
static int breakdown (long long t, long long off, int utc, CuTm *tm) {
  long long days, secs, z, era, y;
  unsigned doe, yoe, doy, mp;
  if (t < -(1LL << 60) || t > (1LL << 60))  /* far beyond any int year? */
    return 0;
  t += off;
  days = t / 86400; secs = t % 86400;
  if (secs < 0) { secs += 86400; days--; }
  tm->hour = (int)(secs / 3600);
  tm->min = (int)(secs / 60 % 60);
  tm->sec = (int)(secs % 60);
  tm->wday = (int)((days % 7 + 11) % 7);  /* 1970-01-01 was a Thursday */
  z = days + 719468;  /* days since 0000-03-01 */
  era = (z >= 0 ? z : z - 146096) / 146097;
  doe = (unsigned)(z - era * 146097);
  yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  mp = (5 * doy + 2) / 153;  /* month from March */
  tm->mday = (int)(doy - (153 * mp + 2) / 5 + 1);
  tm->mon = (int)(mp < 10 ? mp + 2 : mp - 10);
  y = era * 400 + yoe + (mp >= 10);
  if (y - 1900 < INT_MIN || y - 1900 > INT_MAX)
    return 0;
  tm->year = (int)(y - 1900);
  tm->yday = (int)(days - days_from_civil(y, 1, 1));
  tm->isdst = 0;
  tm->off = off;
  tm->utc = utc;
  return 1;
}


/* the host's offset of the local zone at 't', in whole seconds */
static long long localoffset (long long t) {
  double o = cu_local_offset((double)t);
  if (!(o > -172800.0 && o < 172800.0))  /* NaN or nonsense? */
    return 0;
  return (long long)(o < 0 ? o - 0.5 : o + 0.5);
}


/*
** Local time at 't'. The host tells only offsets: as JS libraries do, the standard
** offset of a year ('*std') is the smaller of those of January 1 and July 1, and daylight
** saving time is in effect when the offset is larger. A year without DST gets a daylight
** offset ('*dst') one hour ahead, which is what glibc's mktime assumes then.
*/
static int localtm (long long t, CuTm *tm, long long *std, long long *dst) {
  long long off = localoffset(t), y, o1, o2;
  if (!breakdown(t, off, 0, tm)) return 0;
  y = (long long)tm->year + 1900;
  o1 = localoffset(days_from_civil(y, 1, 1) * 86400 - off);
  o2 = localoffset(days_from_civil(y, 7, 1) * 86400 - off);
  *std = (o1 < o2) ? o1 : o2;
  *dst = (o1 < o2) ? o2 : o1;
  if (*dst == *std) *dst = *std + 3600;
  tm->isdst = off > *std;
  return 1;
}


static long long now (void) {
  double ms = cu_now(0);
  long long s = (long long)(ms / 1000.0);
  return (s * 1000.0 > ms) ? s - 1 : s;  /* floor */
}

/* }====================================================== */


/*
** {======================================================
** strftime in the "C" locale, as glibc prints it
** =======================================================
*/

static const char *const wdays[] = {"Sunday", "Monday", "Tuesday", "Wednesday",
  "Thursday", "Friday", "Saturday"};
static const char *const months[] = {"January", "February", "March", "April", "May",
  "June", "July", "August", "September", "October", "November", "December"};


/* glibc's DO_NUMBER: sign, then at least 'digits' digits padded with 'pad' */
static void addnum (luaL_Buffer *b, long long v, int digits, char pad) {
  char buff[24];
  int i = (int)sizeof(buff);
  unsigned long long u = (v < 0) ? 0ULL - (unsigned long long)v : (unsigned long long)v;
  do { buff[--i] = (char)('0' + u % 10); u /= 10; digits--; } while (u != 0);
  while (digits-- > 0) buff[--i] = pad;
  if (v < 0) buff[--i] = '-';
  luaL_addlstring(b, buff + i, sizeof(buff) - i);
}


static int isleap (int y) {
  return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}


/* glibc's iso_week_days: days since the Monday of ISO week 1 of the year of 'yday' */
static int isoweekdays (int yday, int wday) {
  int big = (366 / 7 + 2) * 7;  /* makes the first operand of '%' nonnegative */
  return yday - (yday - wday + 4 + big) % 7 + 3;
}


static void addfmt (luaL_Buffer *b, const char *fmt, const CuTm *tm);

/* Adds conversion 'c' (the modifiers E and O change nothing in the "C" locale). As in
   glibc, the year is an int: tm_year + 1900 wraps at the far end of the range. */
static void addconv (luaL_Buffer *b, int c, const CuTm *tm) {
  int year = (int)((unsigned)tm->year + 1900u);
  switch (c) {
    case 'a': luaL_addlstring(b, wdays[tm->wday], 3); break;
    case 'A': luaL_addstring(b, wdays[tm->wday]); break;
    case 'b': case 'h': luaL_addlstring(b, months[tm->mon], 3); break;
    case 'B': luaL_addstring(b, months[tm->mon]); break;
    case 'c': addfmt(b, "a b e H:M:S Y", tm); break;
    case 'C': addnum(b, year / 100 - (year % 100 < 0), 1, '0'); break;
    case 'd': addnum(b, tm->mday, 2, '0'); break;
    case 'D': case 'x': addfmt(b, "m/d/y", tm); break;
    case 'e': addnum(b, tm->mday, 2, ' '); break;
    case 'F': addfmt(b, "Y-m-d", tm); break;
    case 'g': case 'G': case 'V': {
      int days = isoweekdays(tm->yday, tm->wday);
      if (days < 0) {  /* the ISO week belongs to the previous year */
        year--;
        days = isoweekdays(tm->yday + 365 + isleap(year), tm->wday);
      }
      else {
        int d = isoweekdays(tm->yday - 365 - isleap(year), tm->wday);
        if (d >= 0) {  /* the ISO week belongs to the next year */
          year++;
          days = d;
        }
      }
      if (c == 'g') addnum(b, (year % 100 + 100) % 100, 2, '0');
      else if (c == 'G') addnum(b, year, 1, '0');
      else addnum(b, days / 7 + 1, 2, '0');
      break;
    }
    case 'H': addnum(b, tm->hour, 2, '0'); break;
    case 'I': addnum(b, (tm->hour % 12 == 0) ? 12 : tm->hour % 12, 2, '0'); break;
    case 'j': addnum(b, tm->yday + 1, 3, '0'); break;
    case 'm': addnum(b, tm->mon + 1, 2, '0'); break;
    case 'M': addnum(b, tm->min, 2, '0'); break;
    case 'n': luaL_addchar(b, '\n'); break;
    case 'p': luaL_addstring(b, tm->hour < 12 ? "AM" : "PM"); break;
    case 'r': addfmt(b, "I:M:S p", tm); break;
    case 'R': addfmt(b, "H:M", tm); break;
    case 'S': addnum(b, tm->sec, 2, '0'); break;
    case 't': luaL_addchar(b, '\t'); break;
    case 'T': case 'X': addfmt(b, "H:M:S", tm); break;
    case 'u': addnum(b, (tm->wday + 6) % 7 + 1, 1, '0'); break;
    case 'U': addnum(b, (tm->yday - tm->wday + 7) / 7, 2, '0'); break;
    case 'w': addnum(b, tm->wday, 1, '0'); break;
    case 'W': addnum(b, (tm->yday - (tm->wday + 6) % 7 + 7) / 7, 2, '0'); break;
    case 'y': addnum(b, (tm->year % 100 + 100) % 100, 2, '0'); break;
    case 'Y': addnum(b, year, 1, '0'); break;
    case 'z': case 'Z': {
      /* %Z: glibc names the zone ("CET", "EST"); the host tells only the offset. We print
         "GMT" for '!' dates (as glibc's gmtime), "UTC" for a local zone at offset 0, and
         otherwise the numeric name tzdata gives zones without an abbreviation: "+04",
         "-03", "+0530". */
      long long m = (tm->off < 0 ? -tm->off : tm->off) / 60;
      if (c == 'Z' && (tm->utc || tm->off == 0)) {
        luaL_addstring(b, tm->utc ? "GMT" : "UTC");
        break;
      }
      luaL_addchar(b, tm->off < 0 ? '-' : '+');
      if (c == 'z' || m % 60 != 0) addnum(b, m / 60 * 100 + m % 60, 4, '0');
      else addnum(b, m / 60, 2, '0');
      break;
    }
    case '%': luaL_addchar(b, '%'); break;
  }
}


/* expands one of the composite formats above: letters are conversions */
static void addfmt (luaL_Buffer *b, const char *fmt, const CuTm *tm) {
  for (; *fmt; fmt++) {
    if ((unsigned)((*fmt | 32) - 'a') < 26) addconv(b, *fmt, tm);
    else luaL_addchar(b, *fmt);
  }
}

/* }====================================================== */


/*
** {======================================================
** Time/Date operations
** { year=%Y, month=%m, day=%d, hour=%H, min=%M, sec=%S,
**   wday=%w+1, yday=%j, isdst=? }
** =======================================================
*/

static void setfield (lua_State *L, const char *key, int value, int delta) {
  lua_pushinteger(L, (lua_Integer)value + delta);
  lua_setfield(L, -2, key);
}


static void setallfields (lua_State *L, const CuTm *tm) {
  setfield(L, "year", tm->year, 1900);
  setfield(L, "month", tm->mon, 1);
  setfield(L, "day", tm->mday, 0);
  setfield(L, "hour", tm->hour, 0);
  setfield(L, "min", tm->min, 0);
  setfield(L, "sec", tm->sec, 0);
  setfield(L, "yday", tm->yday, 1);
  setfield(L, "wday", tm->wday, 1);
  lua_pushboolean(L, tm->isdst);
  lua_setfield(L, -2, "isdst");
}


static int getboolfield (lua_State *L, const char *key) {
  int res;
  res = (lua_getfield(L, -1, key) == LUA_TNIL) ? -1 : lua_toboolean(L, -1);
  lua_pop(L, 1);
  return res;
}


static int getfield (lua_State *L, const char *key, int d, int delta) {
  int isnum;
  int t = lua_getfield(L, -1, key);  /* get field and its type */
  lua_Integer res = lua_tointegerx(L, -1, &isnum);
  if (!isnum) {  /* field is not an integer? */
    if (l_unlikely(t != LUA_TNIL))  /* some other value? */
      return luaL_error(L, "field '%s' is not an integer", key);
    else if (l_unlikely(d < 0))  /* absent field; no default? */
      return luaL_error(L, "field '%s' missing in date table", key);
    res = d;
  }
  else {
    if (!(res >= 0 ? res - delta <= INT_MAX : INT_MIN + delta <= res))
      return luaL_error(L, "field '%s' is out-of-bound", key);
    res -= delta;
  }
  lua_pop(L, 1);
  return (int)res;
}


static const char *checkoption (lua_State *L, const char *conv,
                                ptrdiff_t convlen, char *buff) {
  const char *option = L_STRFTIMEOPTIONS;
  int oplen = 1;  /* length of options being checked */
  for (; *option != '\0' && oplen <= convlen; option += oplen) {
    if (*option == '|')  /* next block? */
      oplen++;  /* will check options with next length (+1) */
    else if (memcmp(conv, option, oplen) == 0) {  /* match? */
      memcpy(buff, conv, oplen);  /* copy valid option to buffer */
      buff[oplen] = '\0';
      return conv + oplen;  /* return next item */
    }
  }
  luaL_argerror(L, 1,
    lua_pushfstring(L, "invalid conversion specifier '%%%s'", conv));
  return conv;  /* to avoid warnings */
}


static int os_date (lua_State *L) {
  size_t slen;
  const char *s = luaL_optlstring(L, 1, "%c", &slen);
  long long t = lua_isnoneornil(L, 2) ? now() : (long long)luaL_checkinteger(L, 2);
  const char *se = s + slen;  /* 's' end */
  CuTm tm;
  int ok;
  if (*s == '!') {  /* UTC? */
    ok = breakdown(t, 0, 1, &tm);
    s++;  /* skip '!' */
  }
  else if (strcmp(s, "*t") == 0) {
    long long std, dst;
    ok = localtm(t, &tm, &std, &dst);
  }
  else  /* no conversion shows daylight saving time */
    ok = breakdown(t, localoffset(t), 0, &tm);
  if (!ok)  /* invalid date? */
    return luaL_error(L,
                 "date result cannot be represented in this installation");
  if (strcmp(s, "*t") == 0) {
    lua_createtable(L, 0, 9);  /* 9 = number of fields */
    setallfields(L, &tm);
  }
  else {
    char cc[3];  /* buffer for individual conversion specifiers */
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    while (s < se) {
      if (*s != '%')  /* not a conversion specifier? */
        luaL_addchar(&b, *s++);
      else {
        s = checkoption(L, s + 1, se - (s + 1), cc);
        addconv(&b, cc[1] ? cc[1] : cc[0], &tm);  /* E and O change nothing */
      }
    }
    luaL_pushresult(&b);
  }
  return 1;
}


/* glibc's mktime: normalises the fields through the time they denote. As glibc does,
   the offset is that of the time with the seconds clamped to 0-59; the seconds beyond
   are added afterwards. */
static int mktm (CuTm *tm, int isdst, long long *res) {
  long long y = (long long)tm->year + 1900 + tm->mon / 12;
  int m = tm->mon % 12;
  int sec = (tm->sec < 0) ? 0 : (tm->sec > 59) ? 59 : tm->sec;
  long long lt, t, o1, o2, std, dst;
  if (m < 0) { m += 12; y--; }
  lt = (days_from_civil(y, m + 1, 1) + tm->mday - 1) * 86400
     + tm->hour * 3600LL + tm->min * 60LL + sec;
  o1 = localoffset(lt);  /* find t with t + offset(t) == lt */
  t = lt - o1;
  o2 = localoffset(t);
  if (o2 != o1) {
    t = lt - o2;
    if (localoffset(t) != o2)  /* 'lt' is skipped by a change to a larger offset: */
      t = lt - (o1 < o2 ? o1 : o2);  /* take it in the offset before the change */
  }
  if (isdst >= 0) {  /* asked for standard or daylight time? */
    CuTm cur;
    if (localtm(t, &cur, &std, &dst) && (cur.isdst != (isdst > 0) || t + cur.off != lt))
      t = lt - (isdst > 0 ? dst : std);  /* not in effect: use the offset asked for */
  }
  t += (long long)tm->sec - sec;
  *res = t;
  return localtm(t, tm, &std, &dst);
}


static int os_time (lua_State *L) {
  long long t;
  if (lua_isnoneornil(L, 1))  /* called without args? */
    t = now();  /* get current time */
  else {
    CuTm ts;
    int isdst;
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);  /* make sure table is at the top */
    ts.year = getfield(L, "year", -1, 1900);
    ts.mon = getfield(L, "month", -1, 1);
    ts.mday = getfield(L, "day", -1, 0);
    ts.hour = getfield(L, "hour", 12, 0);
    ts.min = getfield(L, "min", 0, 0);
    ts.sec = getfield(L, "sec", 0, 0);
    isdst = getboolfield(L, "isdst");
    if (!mktm(&ts, isdst, &t))
      t = -1;
    else
      setallfields(L, &ts);  /* update fields with normalized values */
  }
  if (t == -1)  /* as in loslib.c over glibc, where -1 is mktime's error */
    return luaL_error(L,
                  "time result cannot be represented in this installation");
  lua_pushinteger(L, (lua_Integer)t);
  return 1;
}


static int os_difftime (lua_State *L) {
  long long t1 = (long long)luaL_checkinteger(L, 1);
  long long t2 = (long long)luaL_checkinteger(L, 2);
  long long d;
  if (__builtin_sub_overflow(t1, t2, &d))
    lua_pushnumber(L, (lua_Number)t1 - (lua_Number)t2);
  else
    lua_pushnumber(L, (lua_Number)d);
  return 1;
}


/* seconds of the host's monotonic clock since the library was opened */
static int os_clock (lua_State *L) {
  lua_pushnumber(L, (cu_now(1) - lua_tonumber(L, lua_upvalueindex(1))) / 1000.0);
  return 1;
}

/* }====================================================== */


static int os_getenv (lua_State *L) {
  luaL_checkstring(L, 1);
  luaL_pushfail(L);  /* there is no environment */
  return 1;
}


/* Only the "C" locale exists: queries answer "C", as do requests for "C", "POSIX" or
   the default (""); any other locale cannot be set (nil). */
static int os_setlocale (lua_State *L) {
  static const char *const catnames[] = {"all", "collate", "ctype", "monetary",
     "numeric", "time", NULL};
  const char *l = luaL_optstring(L, 1, NULL);
  luaL_checkoption(L, 2, "all", catnames);
  if (l == NULL || *l == '\0' || strcmp(l, "C") == 0 || strcmp(l, "POSIX") == 0)
    lua_pushliteral(L, "C");
  else
    luaL_pushfail(L);
  return 1;
}


/* The 'close' argument is ignored: the host ends the run and closes the state. */
static int os_exit (lua_State *L) {
  int status;
  if (lua_isboolean(L, 1))
    status = (lua_toboolean(L, 1) ? EXIT_SUCCESS : EXIT_FAILURE);
  else
    status = (int)luaL_optinteger(L, 1, EXIT_SUCCESS);
  return cu_request_exit(L, status);
}


static const luaL_Reg syslib[] = {
  {"clock",     NULL},  /* placeholder: a closure over the clock's origin */
  {"date",      os_date},
  {"difftime",  os_difftime},
  {"exit",      os_exit},
  {"getenv",    os_getenv},
  {"setlocale", os_setlocale},
  {"time",      os_time},
  {NULL, NULL}
};


int cu_open_os (lua_State *L) {
  luaL_newlib(L, syslib);
  lua_pushnumber(L, cu_now(1));
  lua_pushcclosure(L, os_clock, 1);
  lua_setfield(L, -2, "clock");
  return 1;
}
