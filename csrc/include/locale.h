/* locale.h: only the "C" locale exists (lua_getlocaledecpoint is fixed to '.'). */
#ifndef CU_LOCALE_H
#define CU_LOCALE_H
#define LC_ALL 0
#define LC_COLLATE 1
#define LC_CTYPE 2
#define LC_MONETARY 3
#define LC_NUMERIC 4
#define LC_TIME 5
#endif
