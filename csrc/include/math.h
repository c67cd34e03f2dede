/* math.h: libm as Lua uses it. Rust's compiler_builtins defines these symbols,
   frexp is core/libc/math.rs. */
#ifndef CU_MATH_H
#define CU_MATH_H
#define HUGE_VAL (__builtin_huge_val())
#define INFINITY (__builtin_inff())
#define NAN (__builtin_nanf(""))
double acos(double); double asin(double); double atan(double); double atan2(double, double);
double ceil(double); double cos(double); double cosh(double); double exp(double);
double fabs(double); double floor(double); double fmod(double, double);
double frexp(double, int *); double ldexp(double, int); double log(double);
double log10(double); double log2(double); double pow(double, double);
double sin(double); double sinh(double); double sqrt(double); double tan(double);
double tanh(double);
#endif
