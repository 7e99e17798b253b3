/*
 * hopsim/api.h - what every public header needs: the library's version,
 * C linkage for C++ programs, and the one keyword whose spelling differs
 * between C99, C11 and C++.  Included by every other public header; a
 * program need not include it itself.
 *
 * The public headers compile on their own as C99, C11 and C++17 without
 * a warning under -Wall -Wextra -Wpedantic (tools/check-headers.sh).
 */
#ifndef HOPSIM_API_H
#define HOPSIM_API_H

/* The version of these headers.  It equals VERSION in the Makefile, and
 * HS_VERSION_MAJOR is the number in the shared library's soname
 * (libhopsim.so.0); tools/check-headers.sh checks both. */
#define HS_VERSION_MAJOR 0
#define HS_VERSION_MINOR 1
#define HS_VERSION_PATCH 0
#define HS_VERSION "0.1.0"

/* HS_BEGIN_DECLS ... HS_END_DECLS enclose a header's declarations: the
 * library is C, so C++ must call its functions by their C names. */
#ifdef __cplusplus
#define HS_BEGIN_DECLS extern "C" {
#define HS_END_DECLS }
#else
#define HS_BEGIN_DECLS
#define HS_END_DECLS
#endif

/* A function that never returns: C11's _Noreturn, C++11's attribute, the
 * GNU attribute in C99. */
#if defined(__cplusplus)
#define HS_NORETURN [[noreturn]]
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define HS_NORETURN _Noreturn
#elif defined(__GNUC__)
#define HS_NORETURN __attribute__((__noreturn__))
#else
#define HS_NORETURN
#endif

#endif
