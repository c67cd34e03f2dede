/* assert.h: Lua's assertions are off (no LUAI_ASSERT); keep assert a no-op. */
#ifndef CU_ASSERT_H
#define CU_ASSERT_H
#define assert(e) ((void)0)
#endif
