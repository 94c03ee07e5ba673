// Typed wrappers for libcurl's variadic calls, which Swift cannot call directly, and constants
// whose C macros Swift does not import (composite or cast expressions).
#ifndef BACKSTOP_CCURL_SHIM_H
#define BACKSTOP_CCURL_SHIM_H
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>
#include <openssl/crypto.h>

// libcurl's TLS backend is OpenSSL 3, which registers an atexit cleanup that destroys its
// locks; a transfer still running on the curl loop thread at process exit then crashes.
// Asking OpenSSL not to clean up at exit is the documented remedy (the OS reclaims all).
static inline void backstop_openssl_keep_at_exit(void) { OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, NULL); }

static inline CURLcode backstop_easy_setopt_long(CURL *h, CURLoption o, long v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode backstop_easy_setopt_string(CURL *h, CURLoption o, const char *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode backstop_easy_setopt_pointer(CURL *h, CURLoption o, void *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode backstop_easy_setopt_off(CURL *h, CURLoption o, curl_off_t v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode backstop_easy_setopt_slist(CURL *h, CURLoption o, struct curl_slist *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode backstop_easy_setopt_blob(CURL *h, CURLoption o, struct curl_blob *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode backstop_easy_setopt_write_cb(CURL *h, size_t (*cb)(char *, size_t, size_t, void *)) { return curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, cb); }
static inline CURLcode backstop_easy_setopt_read_cb(CURL *h, size_t (*cb)(char *, size_t, size_t, void *)) { return curl_easy_setopt(h, CURLOPT_READFUNCTION, cb); }
static inline CURLcode backstop_easy_setopt_header_cb(CURL *h, size_t (*cb)(char *, size_t, size_t, void *)) { return curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, cb); }
static inline CURLcode backstop_easy_getinfo_long(CURL *h, CURLINFO i, long *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode backstop_easy_getinfo_pointer(CURL *h, CURLINFO i, void **v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode backstop_easy_getinfo_off(CURL *h, CURLINFO i, curl_off_t *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLMcode backstop_multi_setopt_long(CURLM *m, CURLMoption o, long v) { return curl_multi_setopt(m, o, v); }

// Callback return values and pause bitmasks.
static const size_t backstop_writefunc_pause = CURL_WRITEFUNC_PAUSE;
static const size_t backstop_readfunc_pause = CURL_READFUNC_PAUSE;
static const size_t backstop_readfunc_abort = CURL_READFUNC_ABORT;
static const int backstop_pause_recv = CURLPAUSE_RECV;
static const int backstop_pause_send = CURLPAUSE_SEND;
static const int backstop_pause_cont = CURLPAUSE_CONT;
static const unsigned int backstop_blob_copy = CURL_BLOB_COPY;
static const long backstop_pipe_multiplex = CURLPIPE_MULTIPLEX;

// The result of a finished transfer: CURLMsg's payload is an anonymous union.
static inline CURLcode backstop_msg_result(const CURLMsg *m) { return m->data.result; }
#endif
