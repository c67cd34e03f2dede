/* cu_host.h: what csrc/cu_oslib.c asks of the host. On wasm these are JS imports
   (glue.js) reached through core/; on the host build core/ implements them in Rust. */
#ifndef CU_HOST_H
#define CU_HOST_H

struct lua_State;

/* kind 0: milliseconds since the Unix epoch (Date.now()); kind 1: a monotonic clock in
   milliseconds (performance.now()). */
double cu_now(int kind);

/* Seconds east of UTC of the local time zone at Unix time t. */
double cu_local_offset(double t);

/* os.exit: records the exit status and raises a Lua error; never returns. */
int cu_request_exit(struct lua_State *L, int status);

#endif
