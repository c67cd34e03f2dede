/* signal.h: lstate.h needs only sig_atomic_t (for its hook mask); there are no signals. */
#ifndef CU_SIGNAL_H
#define CU_SIGNAL_H
typedef int sig_atomic_t;
#endif
