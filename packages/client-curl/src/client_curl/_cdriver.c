/*
 * client_curl._cdriver: the curl engine's driver loop in C.
 *
 * The pure-Python driver (client_curl._multi) runs libcurl on a thread of its own, but
 * each of its rounds needs the GIL: to take the new transfers, to read the finished
 * ones, to hand them over. The event loop's thread holds the GIL for a whole batch of
 * work, so the two threads end up taking turns. This module runs the same loop without
 * the GIL: a transfer started on the loop's thread is sent at once, while the loop goes
 * on with its batch, and finished transfers wait in a queue (with one byte written to a
 * pipe the loop watches) until the loop takes them, with the GIL, in one call.
 *
 * libcurl itself is reached through function pointers handed over by Python (the
 * library pycurl loaded, found by client_curl._native), so nothing here links to it.
 * The option and info numbers below are part of libcurl's ABI.
 *
 * Every field a slot shares between the threads is guarded by its driver's mutex. The
 * driver thread never takes the GIL; the loop's thread holds the GIL and takes the mutex
 * briefly (the driver never waits for the GIL while holding the mutex, so the two cannot
 * deadlock).
 */
#define PY_SSIZE_T_CLEAN
#define _GNU_SOURCE
#include <Python.h>

#include <errno.h>
#include <stddef.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

typedef void CURL;
typedef void CURLM;
typedef struct {
    int msg;
    CURL *easy_handle;
    union {
        void *whatever;
        int result;
    } data;
} CURLMsg;

#define CURLMSG_DONE 1
#define WRITEFUNC_PAUSE 0x10000001
#define READFUNC_PAUSE 0x10000001
#define PAUSE_RECV 1
#define PAUSE_SEND 4
#define SOCKOPT_OK 0
#define SOCKOPT_ERROR 1

#define OPT_WRITEDATA 10001
#define OPT_READDATA 10009
#define OPT_ERRORBUFFER 10010
#define OPT_WRITEFUNCTION 20011
#define OPT_READFUNCTION 20012
#define OPT_HEADERDATA 10029
#define OPT_HEADERFUNCTION 20079
#define OPT_SOCKOPTFUNCTION 20148
#define OPT_SOCKOPTDATA 10149
#define OPT_PREREQFUNCTION 20312
#define OPT_PREREQDATA 10313
#define INFO_HEADER_SIZE 0x20000B
#define INFO_REQUEST_SIZE 0x20000C
#define INFO_SIZE_UPLOAD_T 0x600007
#define INFO_SIZE_DOWNLOAD_T 0x600008
#define ERROR_SIZE 256

/* What a slot has for the loop's thread (bits of an event). */
#define EV_HEAD 1        /* a blank line ended a head */
#define EV_DATA 2        /* body bytes wait to be pulled (streamed transfers) */
#define EV_DONE 4        /* the transfer left the multi handle */
#define EV_SEND_PAUSED 8 /* the upload wants its next piece */

/* Commands from the loop's thread. */
#define CMD_START 1
#define CMD_ABORT 2
#define CMD_PAUSE 4

/* Why a transfer ended other than by libcurl's own result. */
#define END_LIBCURL 0
#define END_ABORTED 1 /* abort() from the loop's thread */
#define END_IDLE 2    /* nothing moved within its socket timeout */
#define END_LIMIT 3   /* the body passed its limit */
#define END_STOPPED 4 /* the driver stopped */
#define END_REFUSED 5 /* curl_multi_add_handle refused it */
#define END_NOMEM 6   /* a buffer could not grow */
#define END_FAILED 7  /* the driver's loop failed (curl_multi_poll) */

#define KEEP_BUFFER (256 * 1024) /* a larger buffer is freed when its transfer ends */
#define PIECE (64 * 1024)        /* the most a streamed reader pulls at once */
#define ADOPT_MIN (64 * 1024)    /* a body from this size on becomes its bytes object in place */
#define POOL 64                  /* large buffers a driver keeps for the next bodies */
#define LENT 64                  /* adopted bodies a driver watches to take back (see reclaim()) */
#define RECYCLE_BYTES (32 << 20) /* the pool and the bodies watched hold at most this much */
#define SIZED_MIN (64 * 1024)   /* a body from this size (its Content-Length) on ... */
#define SIZED_MAX (256LL << 20) /* ... to this one gets a buffer of its size at once */
#define HOLD_MS 5                /* the most a head is held back while its body arrives ... */
#define HOLD_QUIET_MS 1          /* ... or until the sockets are quiet this long */
#define BATCH_REST (128 * 1024)  /* a body with more than this still to come ... */
#define BATCH_BYTES (256 * 1024) /* ... that arrives in rounds of less than this ... */
#define BATCH_US 200             /* ... is read this long after the last round at the soonest */

typedef struct {
    int (*perform)(CURLM *, int *);
    int (*poll)(CURLM *, void *, unsigned int, int, int *);
    int (*wakeup)(CURLM *);
    int (*add)(CURLM *, CURL *);
    int (*remove)(CURLM *, CURL *);
    CURLMsg *(*info_read)(CURLM *, int *);
    int (*pause)(CURL *, int);
    int (*getinfo)(CURL *, int, ...);
    int (*setopt)(CURL *, int, ...);
} Api;

/* A growing buffer. Its allocation starts ROOM bytes before data and ends one byte past
 * cap, so that a whole body can become a bytes object where it lies (see adopt()). */
typedef struct {
    char *data;
    size_t len;
    size_t cap;
} Buffer;

#define ROOM offsetof(PyBytesObject, ob_sval)

/* A body adopted as a bytes object, with a reference kept by its driver: once that is
 * the only one left, its memory goes back to the pool (see reclaim()). */
typedef struct {
    PyObject *object;
    size_t cap;
} Lent;

typedef struct Driver Driver;
typedef struct Slot Slot;

struct Slot {
    CURL *easy;
    Driver *driver; /* set by the first start(); cleared when the driver is freed */
    Slot *known_prev; /* the driver's list of its slots (guarded by its mutex) */
    Slot *known_next;
    PyObject *transfer; /* a reference from start() until its end is taken */
    /* guarded by driver->mutex */
    Buffer body;
    size_t body_offset; /* the body bytes before this were pulled */
    int want_data; /* a streamed reader found nothing to pull: tell it of the next bytes */
    long long content_length; /* of the last head, -1: not given */
    int chunked;
    int status;   /* of the last head */
    int sized_ok; /* not a HEAD request: a Content-Length is the body's */
    int held;     /* its complete head is held back while the body arrives (see hold()) */
    Buffer head;
    size_t head_sent;
    Buffer upload;
    size_t upload_offset;
    int upload_eof;
    long long arrived;
    long long window; /* pause receiving with this many bytes unpulled; 0: never */
    long long limit;  /* fail past this many body bytes; -1: no limit */
    int recv_paused;
    int send_paused;
    unsigned int events;
    int queued;
    Slot *event_next;
    unsigned int commands;
    int commanded;
    Slot *command_next;
    int started; /* between start() and the end being taken */
    int done;
    int result;
    int ended;
    /* the driver thread's (read by the loop's thread once done) */
    int active;
    Slot *prev;
    Slot *next;
    int guard;
    int sent_once;
    long long timeout_ms;
    double idle_since;
    long long progress;
    char error[ERROR_SIZE + 2];
};

struct Driver {
    Api api;
    CURLM *multi;
    int notify_fd;
    pthread_mutex_t mutex;
    /* guarded by mutex */
    Slot *command_head;
    Slot *command_tail;
    Slot *event_head;
    Slot *event_tail;
    int sleeping;
    int notify_armed;
    int stop;
    int injected; /* a poll failure to report, for tests */
    Buffer pool[POOL]; /* large body buffers kept for reuse (their pages stay mapped), oldest first */
    int pooled;
    size_t pool_bytes;
    Lent lent[LENT]; /* adopted bodies still referenced here (see reclaim()) */
    int lent_count;
    size_t lent_bytes;
    Slot *known; /* every slot started on this driver, not freed yet */
    int holding; /* slots whose head is held back */
    double hold_until; /* when to let them go at the latest */
    /* the driver thread's */
    size_t round_bytes; /* body bytes taken in by the last curl_multi_perform */
    int round_large;    /* ... some of them for a body with more than BATCH_REST to come */
    Slot *active;
    int count;
    int watched;
    double watch_at;
};

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int buffer_resize(Buffer *buffer, size_t cap) {
    char *base = realloc(buffer->data ? buffer->data - ROOM : NULL, ROOM + cap + 1);
    if (base == NULL) {
        return -1;
    }
    buffer->data = base + ROOM;
    buffer->cap = cap;
    return 0;
}

static int buffer_add(Buffer *buffer, const char *data, size_t len) {
    if (buffer->len + len > buffer->cap) {
        size_t cap = buffer->cap ? buffer->cap : 16384;
        while (cap < buffer->len + len) {
            cap *= 2;
        }
        if (buffer_resize(buffer, cap) != 0) {
            return -1;
        }
    }
    memcpy(buffer->data + buffer->len, data, len);
    buffer->len += len;
    return 0;
}

static void buffer_free(Buffer *buffer) {
    if (buffer->data != NULL) {
        free(buffer->data - ROOM);
    }
    buffer->data = NULL;
    buffer->len = buffer->cap = 0;
}

/* With the mutex held: keep a large buffer in the pool for the next bodies, making room
 * by freeing the oldest ones; a buffer larger than the whole pool is freed. The buffer is
 * left empty. */
static void pool_put(Driver *driver, Buffer *buffer) {
    if (buffer->cap > RECYCLE_BYTES - driver->lent_bytes) {
        buffer_free(buffer);
        return;
    }
    while (driver->pooled > 0 &&
           (driver->pooled == POOL ||
            driver->pool_bytes + driver->lent_bytes + buffer->cap > RECYCLE_BYTES)) {
        driver->pool_bytes -= driver->pool[0].cap;
        buffer_free(&driver->pool[0]);
        driver->pooled--;
        memmove(&driver->pool[0], &driver->pool[1], (size_t)driver->pooled * sizeof(Buffer));
    }
    buffer->len = 0;
    driver->pool_bytes += buffer->cap;
    driver->pool[driver->pooled++] = *buffer;
    buffer->data = NULL;
    buffer->cap = 0;
}

/* With the mutex held: a transfer ended; a large buffer goes to the pool or is freed. */
static void buffer_trim(Driver *driver, Buffer *buffer) {
    buffer->len = 0;
    if (buffer->cap > KEEP_BUFFER) {
        if (driver != NULL) {
            pool_put(driver, buffer);
        } else {
            buffer_free(buffer);
        }
    }
}

/* Map in a new large buffer's pages with one system call, instead of one page fault per
 * 4 KiB page as the body is written (Linux 5.14+; elsewhere, or when refused, the faults
 * happen as before). */
static void prefault(Buffer *buffer) {
#if defined(__linux__)
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
    static long page = 0;
    if (page == 0) {
        page = sysconf(_SC_PAGESIZE);
    }
    if (buffer->cap < (size_t)(64 * page)) {
        return;
    }
    uintptr_t start = ((uintptr_t)buffer->data + (uintptr_t)page - 1) & ~((uintptr_t)page - 1);
    uintptr_t end = ((uintptr_t)buffer->data + buffer->cap) & ~((uintptr_t)page - 1);
    if (end > start) {
        madvise((void *)start, end - start, MADV_POPULATE_WRITE);
    }
#else
    (void)buffer;
#endif
}

/* With the mutex held: take from the pool the smallest buffer that holds size bytes and
 * is not much larger (the body's bytes object would keep the rest). */
static int pool_take(Driver *driver, size_t size, Buffer *buffer) {
    int best = -1;
    for (int i = 0; i < driver->pooled; i++) {
        size_t cap = driver->pool[i].cap;
        if (cap >= size && cap - size <= size / 8 && (best < 0 || cap < driver->pool[best].cap)) {
            best = i;
        }
    }
    if (best < 0) {
        return -1;
    }
    *buffer = driver->pool[best];
    buffer->len = 0;
    driver->pool_bytes -= buffer->cap;
    driver->pooled--;
    memmove(&driver->pool[best], &driver->pool[best + 1], (size_t)(driver->pooled - best) * sizeof(Buffer));
    return 0;
}

/* With the GIL: make the buffer's content (at least ADOPT_MIN bytes) a bytes object in
 * place, without copying; the buffer is left empty. NULL when it cannot (the caller
 * copies instead). The allocation becomes the object's: CPython frees a bytes object
 * with PyObject_Free, which hands memory it did not allocate itself to free(); that
 * holds for its default allocators only, so Python enables this (adopt_ok) only then. */
static int adopt_ok = 0;
static unsigned long long adopted_count = 0;   /* bodies adopted so far (see counters()) */
static unsigned long long reclaimed_count = 0; /* adopted bodies whose memory came back */

static PyObject *adopt(Driver *driver, Buffer *buffer) {
    if (!adopt_ok || buffer->data == NULL || buffer->len < ADOPT_MIN) {
        return NULL;
    }
    size_t len = buffer->len;
    size_t cap = buffer->cap;
    char *base = buffer->data - ROOM;
    if (cap - len > len / 8) { /* give back what the object would not use */
        char *shrunk = realloc(base, ROOM + len + 1);
        if (shrunk != NULL) {
            base = shrunk;
            cap = len;
        }
    }
    PyBytesObject *bytes = (PyBytesObject *)base;
    bytes->ob_sval[len] = '\0';
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#endif
    bytes->ob_shash = -1;
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
    PyObject *object = (PyObject *)PyObject_InitVar((PyVarObject *)bytes, &PyBytes_Type, (Py_ssize_t)len);
    buffer->data = NULL;
    buffer->len = buffer->cap = 0;
    __atomic_add_fetch(&adopted_count, 1, __ATOMIC_RELAXED);
    if (driver->lent_count < LENT && driver->pool_bytes + driver->lent_bytes + cap <= RECYCLE_BYTES) {
        Py_INCREF(object); /* watched: see reclaim() */
        driver->lent[driver->lent_count].object = object;
        driver->lent[driver->lent_count].cap = cap;
        driver->lent_count++;
        driver->lent_bytes += cap;
    }
    return object;
}

/* With the GIL and the mutex held: the adopted bodies no one but the driver references
 * any more go back to the pool, their pages still mapped, for the next bodies.
 *
 * Freeing a large body and allocating the next one instead would often hand the pages
 * back to the kernel in between (the C library trims its heap), so each body would be
 * written into fresh pages, which the kernel must fault in and zero: for a 1 MiB body
 * that costs more than receiving it. A bytes object with a reference count of one held
 * by the driver is unreachable from Python; taking its memory back without deallocating
 * it is safe (nothing else points to it, and its type has no finalizer), and the object
 * header is written anew when it is adopted again. */
static void reclaim(Driver *driver) {
    for (int i = 0; i < driver->lent_count;) {
        Lent lent = driver->lent[i];
        if (Py_REFCNT(lent.object) != 1) {
            i++;
            continue;
        }
        driver->lent[i] = driver->lent[--driver->lent_count];
        driver->lent_bytes -= lent.cap;
        Buffer buffer = {(char *)lent.object + ROOM, 0, lent.cap};
        pool_put(driver, &buffer);
        __atomic_add_fetch(&reclaimed_count, 1, __ATOMIC_RELAXED);
    }
}

/* With the mutex held: the body bytes not pulled yet. */
static size_t unread(Slot *slot) {
    return slot->body.len - slot->body_offset;
}

/* With the mutex held: how many bytes of body are still to come, when the head says
 * and it is worth sizing the buffer for; else -1. */
static long long sized_rest(Slot *slot) {
    if (!slot->sized_ok || slot->chunked || slot->done || slot->content_length < 0 ||
        slot->status < 200 || slot->status == 204 || slot->status == 304) {
        return -1;
    }
    long long pulled = slot->arrived - (long long)unread(slot);
    long long rest = slot->content_length - pulled;
    return rest >= SIZED_MIN && rest <= SIZED_MAX ? rest : -1;
}

/* Append slot to the queue from head to tail, linked through the slot's field next. */
#define APPEND(head, tail, slot, next) \
    do {                               \
        (slot)->next = NULL;           \
        if (tail) {                    \
            (tail)->next = (slot);     \
        } else {                       \
            (head) = (slot);           \
        }                              \
        (tail) = (slot);               \
    } while (0)

/* With the mutex held: tell the loop's thread that the slot has something. */
static void post(Slot *slot, unsigned int bits) {
    Driver *driver = slot->driver;
    slot->events |= bits;
    if (!slot->queued) {
        slot->queued = 1;
        APPEND(driver->event_head, driver->event_tail, slot, event_next);
    }
}

/* With the mutex held: have the driver thread act on the slot. */
static int command(Slot *slot, unsigned int bits) {
    Driver *driver = slot->driver;
    slot->commands |= bits;
    if (!slot->commanded) {
        slot->commanded = 1;
        APPEND(driver->command_head, driver->command_tail, slot, command_next);
    }
    int sleeping = driver->sleeping;
    driver->sleeping = 0;
    return sleeping;
}

/* -- libcurl's callbacks (the driver thread, inside curl_multi_perform) ----------- */

/* With the mutex held, before the first piece of body: room for the whole body when the
 * head gives its size (else the buffer grows as the body arrives). A new buffer is
 * allocated and its pages mapped in with the mutex released: that takes long enough to
 * hold up the loop's thread. Until the body's first piece is added, the loop's thread
 * finds nothing to take from the buffer, so swapping it after is safe. */
static void reserve_body(Driver *driver, Slot *slot) {
    long long rest = sized_rest(slot);
    if (rest > 0 && slot->window > 0 && rest > slot->window) {
        rest = slot->window; /* a streamed reader holds no more than that */
    }
    if (rest <= 0 || (size_t)rest <= slot->body.cap) {
        return;
    }
    Buffer fresh = {NULL, 0, 0};
    if (pool_take(driver, (size_t)rest, &fresh) != 0) {
        pthread_mutex_unlock(&driver->mutex);
        int failed = buffer_resize(&fresh, (size_t)rest);
        if (!failed) {
            prefault(&fresh);
        }
        pthread_mutex_lock(&driver->mutex);
        if (failed) {
            return;
        }
    }
    Buffer old = slot->body;
    slot->body = fresh;
    slot->body_offset = 0;
    buffer_free(&old);
}

static size_t on_write(char *data, size_t size, size_t count, void *user) {
    Slot *slot = user;
    Driver *driver = slot->driver;
    size_t len = size * count;
    pthread_mutex_lock(&driver->mutex);
    size_t left = unread(slot);
    if (slot->window > 0 && (long long)left >= slot->window) {
        slot->recv_paused = 1; /* pull() resumes it */
        pthread_mutex_unlock(&driver->mutex);
        return WRITEFUNC_PAUSE;
    }
    if (slot->limit >= 0 && slot->arrived + (long long)len > slot->limit) {
        slot->ended = END_LIMIT;
        pthread_mutex_unlock(&driver->mutex);
        return 0;
    }
    if (slot->arrived == 0) {
        reserve_body(driver, slot);
    }
    if (slot->body_offset == slot->body.len) {
        slot->body.len = slot->body_offset = 0;
    } else if (slot->body_offset > 0 && slot->body.len + len > slot->body.cap) {
        memmove(slot->body.data, slot->body.data + slot->body_offset, left);
        slot->body.len = left;
        slot->body_offset = 0;
    }
    if (buffer_add(&slot->body, data, len) != 0) {
        slot->ended = END_NOMEM;
        pthread_mutex_unlock(&driver->mutex);
        return 0;
    }
    slot->arrived += (long long)len;
    driver->round_bytes += len;
    if (slot->content_length - slot->arrived > BATCH_REST && !slot->chunked) {
        driver->round_large = 1;
    }
    if (slot->want_data) {
        slot->want_data = 0;
        post(slot, EV_DATA);
    }
    pthread_mutex_unlock(&driver->mutex);
    return len;
}

/* With the mutex held, on the blank line ending a final head: whether to hold the head
 * back while the body arrives. A task reading the whole body would be woken twice, for
 * the head and then for the end; when the body fits the buffer (it is sized, and a
 * streamed reader would not pause for it) and is still on its way, the head goes with
 * the end instead, or on its own once the sockets go quiet for HOLD_QUIET_MS or HOLD_MS
 * have passed (see drive()), so a streamed reader gets it late by that much at most. */
static int hold(Driver *driver, Slot *slot) {
    long long rest = sized_rest(slot);
    if (rest <= 0 || slot->arrived != 0 || (slot->window > 0 && rest > slot->window)) {
        return 0;
    }
    slot->held = 1;
    if (driver->holding++ == 0) {
        driver->hold_until = now() + HOLD_MS / 1000.0;
    }
    return 1;
}

static unsigned long long joined_count = 0; /* held heads that went with their end (tests) */

/* With the mutex held: let the held heads go (the loop's thread is told next). */
static void release_held(Driver *driver) {
    for (Slot *slot = driver->active; slot != NULL && driver->holding > 0; slot = slot->next) {
        if (slot->held) {
            slot->held = 0;
            driver->holding--;
            post(slot, EV_HEAD);
        }
    }
}

static size_t on_header(char *data, size_t size, size_t count, void *user) {
    Slot *slot = user;
    Driver *driver = slot->driver;
    size_t len = size * count;
    pthread_mutex_lock(&driver->mutex);
    if (buffer_add(&slot->head, data, len) != 0) {
        slot->ended = END_NOMEM;
        pthread_mutex_unlock(&driver->mutex);
        return 0;
    }
    if ((len == 2 && data[0] == '\r' && data[1] == '\n') || (len == 1 && data[0] == '\n')) {
        if (!hold(driver, slot)) {
            post(slot, EV_HEAD);
        }
    } else if (len > 5 && memcmp(data, "HTTP/", 5) == 0) { /* a new head */
        slot->content_length = -1;
        slot->chunked = 0;
        slot->status = 0;
        const char *space = memchr(data, ' ', len);
        if (space != NULL && space + 4 <= data + len) {
            int status = 0;
            for (int i = 1; i <= 3; i++) {
                char c = space[i];
                status = c >= '0' && c <= '9' ? status * 10 + (c - '0') : -1000;
            }
            slot->status = status > 0 ? status : 0;
        }
    } else if (len > 15 && strncasecmp(data, "content-length:", 15) == 0) {
        long long value = 0;
        size_t i = 15;
        while (i < len && (data[i] == ' ' || data[i] == '\t')) {
            i++;
        }
        size_t digits = 0;
        while (i < len && data[i] >= '0' && data[i] <= '9' && digits < 18) {
            value = value * 10 + (data[i] - '0');
            i++;
            digits++;
        }
        slot->content_length = digits ? value : -1;
    } else if (len > 18 && strncasecmp(data, "transfer-encoding:", 18) == 0) {
        slot->chunked = 1;
    }
    pthread_mutex_unlock(&driver->mutex);
    return len;
}

static size_t on_read(char *data, size_t size, size_t count, void *user) {
    Slot *slot = user;
    Driver *driver = slot->driver;
    size_t want = size * count;
    pthread_mutex_lock(&driver->mutex);
    size_t left = slot->upload.len - slot->upload_offset;
    if (left) {
        size_t take = left < want ? left : want;
        memcpy(data, slot->upload.data + slot->upload_offset, take);
        slot->upload_offset += take;
        if (slot->upload_offset == slot->upload.len) {
            slot->upload.len = 0;
            slot->upload_offset = 0;
        }
        pthread_mutex_unlock(&driver->mutex);
        return take;
    }
    if (slot->upload_eof) {
        pthread_mutex_unlock(&driver->mutex);
        return 0;
    }
    slot->send_paused = 1; /* feed() resumes it */
    post(slot, EV_SEND_PAUSED);
    pthread_mutex_unlock(&driver->mutex);
    return READFUNC_PAUSE;
}

/* A non-idempotent request is being sent: it must not go out again on a new
 * connection (libcurl retries a request whose reused connection died early). */
static int on_prereq(void *user, char *ip, char *local, int remote_port, int local_port) {
    Slot *slot = user;
    (void)ip;
    (void)local;
    (void)remote_port;
    (void)local_port;
    if (slot->guard) {
        slot->sent_once = 1;
    }
    return 0;
}

static int on_sockopt(void *user, int fd, int purpose) {
    Slot *slot = user;
    (void)fd;
    (void)purpose;
    return slot->sent_once ? SOCKOPT_ERROR : SOCKOPT_OK;
}

/* -- the driver thread ----------------------------------------------------------- */

static void unlink_active(Driver *driver, Slot *slot) {
    if (slot->prev) {
        slot->prev->next = slot->next;
    } else {
        driver->active = slot->next;
    }
    if (slot->next) {
        slot->next->prev = slot->prev;
    }
    slot->prev = slot->next = NULL;
    slot->active = 0;
    driver->count--;
    if (slot->timeout_ms > 0) {
        driver->watched--;
    }
}

/* The transfer is over (its handle out of the multi handle, if it was in). */
static void finish(Driver *driver, Slot *slot, int result, int ended) {
    if (slot->active) {
        driver->api.remove(driver->multi, slot->easy);
        unlink_active(driver, slot);
    }
    pthread_mutex_lock(&driver->mutex);
    if (slot->held) { /* the head goes with the end */
        slot->held = 0;
        driver->holding--;
        __atomic_add_fetch(&joined_count, 1, __ATOMIC_RELAXED); /* read without the mutex */
    }
    slot->done = 1;
    slot->result = result;
    if (ended != END_LIBCURL || slot->ended == END_LIBCURL) {
        slot->ended = ended;
    }
    post(slot, EV_DONE);
    pthread_mutex_unlock(&driver->mutex);
}

static void begin(Driver *driver, Slot *slot) {
    int code = driver->api.add(driver->multi, slot->easy);
    if (code != 0) {
        slot->result = code;
        finish(driver, slot, code, END_REFUSED);
        return;
    }
    slot->active = 1;
    slot->prev = NULL;
    slot->next = driver->active;
    if (driver->active) {
        driver->active->prev = slot;
    }
    driver->active = slot;
    driver->count++;
    if (slot->timeout_ms > 0) {
        double t = now();
        slot->idle_since = t;
        slot->progress = -1;
        double step = (double)slot->timeout_ms / 4000.0;
        double at = t + (step > 0.01 ? step : 0.01);
        if (driver->watched == 0 || at < driver->watch_at) {
            driver->watch_at = at;
        }
        driver->watched++;
    }
}

/* Take the slots the loop's thread commanded, one at a time: a slot still in the queue
 * stays reachable from it, so slot_free() can take it out (see there). */
static void run_commands(Driver *driver) {
    for (;;) {
        pthread_mutex_lock(&driver->mutex);
        Slot *slot = driver->command_head;
        if (slot == NULL) {
            pthread_mutex_unlock(&driver->mutex);
            return;
        }
        driver->command_head = slot->command_next;
        if (driver->command_head == NULL) {
            driver->command_tail = NULL;
        }
        slot->command_next = NULL;
        unsigned int commands = slot->commands;
        slot->commands = 0;
        slot->commanded = 0;
        int mask = (slot->recv_paused ? PAUSE_RECV : 0) | (slot->send_paused ? PAUSE_SEND : 0);
        int done = slot->done;
        pthread_mutex_unlock(&driver->mutex);
        /* From here until the next lock, the slot is not done, so the loop's thread does
         * not free it; once finish() made it done, it is not touched again. */
        if (done || commands == 0) {
            continue;
        }
        if (commands & CMD_START) {
            begin(driver, slot);
            if (!slot->active) { /* refused: finish() made it done */
                continue;
            }
        }
        if (commands & CMD_ABORT) {
            finish(driver, slot, 0, END_ABORTED);
        } else if ((commands & CMD_PAUSE) && slot->active) {
            /* may deliver held data through the write callback at once */
            int code = driver->api.pause(slot->easy, mask);
            if (code != 0) {
                finish(driver, slot, code, END_LIBCURL);
            }
        }
    }
}

static Slot *find_active(Driver *driver, CURL *easy) {
    for (Slot *slot = driver->active; slot; slot = slot->next) {
        if (slot->easy == easy) {
            return slot;
        }
    }
    return NULL;
}

static void collect(Driver *driver) {
    int queued;
    CURLMsg *msg;
    while ((msg = driver->api.info_read(driver->multi, &queued)) != NULL) {
        if (msg->msg != CURLMSG_DONE) {
            continue;
        }
        CURL *easy = msg->easy_handle;
        int result = msg->data.result;
        Slot *slot = find_active(driver, easy);
        if (slot) {
            finish(driver, slot, result, END_LIBCURL);
        } else {
            driver->api.remove(driver->multi, easy);
        }
    }
}

static void check_idle(Driver *driver, double t) {
    double next_at = 0;
    int any = 0;
    Slot *slot = driver->active;
    while (slot) {
        Slot *next = slot->next;
        if (slot->timeout_ms > 0) {
            long long progress = -1;
            pthread_mutex_lock(&driver->mutex);
            int paused = slot->recv_paused || slot->send_paused;
            pthread_mutex_unlock(&driver->mutex);
            if (!paused) {
                long sent = 0, header = 0;
                long long down = 0, up = 0;
                driver->api.getinfo(slot->easy, INFO_REQUEST_SIZE, &sent);
                if (sent > 0) {
                    driver->api.getinfo(slot->easy, INFO_HEADER_SIZE, &header);
                    driver->api.getinfo(slot->easy, INFO_SIZE_DOWNLOAD_T, &down);
                    driver->api.getinfo(slot->easy, INFO_SIZE_UPLOAD_T, &up);
                    progress = (long long)header + down + up;
                }
            }
            double timeout = (double)slot->timeout_ms / 1000.0;
            if (progress < 0 || progress != slot->progress) {
                slot->progress = progress;
                slot->idle_since = t;
            } else if (t - slot->idle_since >= timeout - 0.0005) {
                finish(driver, slot, 0, END_IDLE);
                slot = next;
                continue;
            }
            double step = timeout / 4 > 0.01 ? timeout / 4 : 0.01;
            if (!any || t + step < next_at) {
                next_at = t + step;
                any = 1;
            }
        }
        slot = next;
    }
    driver->watch_at = next_at;
}

static void notify(Driver *driver) {
    pthread_mutex_lock(&driver->mutex);
    int write_it = driver->event_head != NULL && driver->notify_armed;
    if (write_it) {
        driver->notify_armed = 0;
    }
    pthread_mutex_unlock(&driver->mutex);
    if (write_it) {
        ssize_t n;
        do {
            n = write(driver->notify_fd, "", 1);
        } while (n < 0 && errno == EINTR);
        /* a full pipe (EAGAIN) is as good: the loop has not read it yet */
    }
}

static void end_all(Driver *driver, int ended, int result) {
    while (driver->active) {
        finish(driver, driver->active, result, ended);
    }
}

static unsigned long long nap_count = 0; /* naps to let a large body gather (tests) */

static int drive(Driver *driver) {
#if defined(__linux__)
    pthread_setname_np(pthread_self(), "curl-driver"); /* as top -H and perf show it */
#endif
    for (;;) {
        run_commands(driver);
        pthread_mutex_lock(&driver->mutex);
        int stop = driver->stop;
        pthread_mutex_unlock(&driver->mutex);
        if (stop) {
            end_all(driver, END_STOPPED, 0);
            notify(driver);
            return 0;
        }
        int running = 0;
        driver->round_bytes = 0;
        driver->round_large = 0;
        driver->api.perform(driver->multi, &running);
        if (running < driver->count) {
            collect(driver);
        }
        int timeout = 60000;
        if (driver->watched > 0) {
            double t = now();
            if (t >= driver->watch_at - 0.0005) {
                check_idle(driver, t);
            }
            if (driver->watched > 0) {
                double wait = (driver->watch_at - t) * 1000.0 + 1;
                timeout = wait < 0 ? 0 : (wait > 60000 ? 60000 : (int)wait);
            }
        }
        notify(driver);
        /* A large body arriving in small rounds: the sockets are read as soon as a few
         * KiB wait, at a system call (and an acknowledgement to the sender) each. Let them
         * fill a little first: the thread sleeps briefly instead of polling, and the
         * next round takes in what came meanwhile, in fewer and larger reads. */
        int batch = driver->round_large && driver->round_bytes < BATCH_BYTES;
        pthread_mutex_lock(&driver->mutex);
        int more = driver->command_head != NULL || driver->stop;
        driver->sleeping = !more && !batch; /* a command waits for the end of the nap */
        int holding = driver->holding;
        double hold_until = driver->hold_until;
        pthread_mutex_unlock(&driver->mutex);
        if (more) {
            continue;
        }
        if (batch) {
            struct timespec nap = {0, BATCH_US * 1000L};
            nanosleep(&nap, NULL);
            __atomic_add_fetch(&nap_count, 1, __ATOMIC_RELAXED);
            if (holding && now() >= hold_until) { /* a steady body: its time is up */
                pthread_mutex_lock(&driver->mutex);
                release_held(driver);
                pthread_mutex_unlock(&driver->mutex);
            }
            continue;
        }
        if (holding && timeout > HOLD_QUIET_MS) {
            timeout = HOLD_QUIET_MS;
        }
        int ready = 0;
        int code = driver->api.poll(driver->multi, NULL, 0, timeout, &ready);
        pthread_mutex_lock(&driver->mutex);
        driver->sleeping = 0;
        if (driver->holding && (ready == 0 || now() >= hold_until)) {
            release_held(driver); /* told at the next notify() */
        }
        if (driver->injected) {
            code = driver->injected;
        }
        pthread_mutex_unlock(&driver->mutex);
        if (code != 0) { /* it returns at once from now on: fail rather than spin */
            end_all(driver, END_FAILED, code); /* result: the CURLMcode */
            notify(driver);
            return code;
        }
    }
}

/* -- the module (the loop's thread, with the GIL) ---------------------------------- */

static void *as_pointer(PyObject *value) {
    void *pointer = PyLong_AsVoidPtr(value);
    if (pointer == NULL && !PyErr_Occurred()) {
        PyErr_SetString(PyExc_ValueError, "a NULL pointer");
    }
    return pointer;
}

/* End the driver thread's sleep when command() or stop() found it sleeping. */
static void wake(Driver *driver, int sleeping) {
    if (sleeping) {
        driver->api.wakeup(driver->multi);
    }
}

static PyObject *m_new(PyObject *self, PyObject *args) {
    PyObject *multi, *functions;
    int notify_fd;
    (void)self;
    if (!PyArg_ParseTuple(args, "OO!i", &multi, &PyTuple_Type, &functions, &notify_fd)) {
        return NULL;
    }
    if (PyTuple_GET_SIZE(functions) != 9) {
        PyErr_SetString(PyExc_ValueError, "nine libcurl functions are needed");
        return NULL;
    }
    void *pointers[9];
    for (int i = 0; i < 9; i++) {
        pointers[i] = as_pointer(PyTuple_GET_ITEM(functions, i));
        if (pointers[i] == NULL) {
            return NULL;
        }
    }
    void *multi_pointer = as_pointer(multi);
    if (multi_pointer == NULL) {
        return NULL;
    }
    Driver *driver = calloc(1, sizeof(Driver));
    if (driver == NULL) {
        return PyErr_NoMemory();
    }
    memcpy(&driver->api, pointers, sizeof(pointers));
    driver->multi = multi_pointer;
    driver->notify_fd = notify_fd;
    driver->notify_armed = 1;
    if (pthread_mutex_init(&driver->mutex, NULL) != 0) {
        free(driver);
        return PyErr_NoMemory();
    }
    return PyLong_FromVoidPtr(driver);
}

static PyObject *m_run(PyObject *self, PyObject *arg) {
    (void)self;
    Driver *driver = as_pointer(arg);
    if (driver == NULL) {
        return NULL;
    }
    int code;
    Py_BEGIN_ALLOW_THREADS
    code = drive(driver);
    Py_END_ALLOW_THREADS
    return PyLong_FromLong(code);
}

static PyObject *m_stop(PyObject *self, PyObject *arg) {
    (void)self;
    Driver *driver = as_pointer(arg);
    if (driver == NULL) {
        return NULL;
    }
    pthread_mutex_lock(&driver->mutex);
    driver->stop = 1;
    int sleeping = driver->sleeping;
    driver->sleeping = 0;
    pthread_mutex_unlock(&driver->mutex);
    wake(driver, sleeping);
    Py_RETURN_NONE;
}

static PyObject *m_free(PyObject *self, PyObject *arg) {
    (void)self;
    Driver *driver = as_pointer(arg);
    if (driver == NULL) {
        return NULL;
    }
    for (int i = 0; i < driver->pooled; i++) {
        buffer_free(&driver->pool[i]);
    }
    for (int i = 0; i < driver->lent_count; i++) {
        Py_DECREF(driver->lent[i].object); /* the caller's, if still referenced */
    }
    driver->lent_count = 0;
    pthread_mutex_lock(&driver->mutex);
    for (Slot *slot = driver->known; slot != NULL; slot = slot->known_next) {
        slot->driver = NULL; /* its handle may be closed later: nothing left to unlink from */
    }
    pthread_mutex_unlock(&driver->mutex);
    pthread_mutex_destroy(&driver->mutex);
    free(driver);
    Py_RETURN_NONE;
}

static int attach(Slot *slot, Api *api) {
    CURL *easy = slot->easy;
    int code = 0;
    code |= api->setopt(easy, OPT_WRITEFUNCTION, on_write);
    code |= api->setopt(easy, OPT_WRITEDATA, slot);
    code |= api->setopt(easy, OPT_HEADERFUNCTION, on_header);
    code |= api->setopt(easy, OPT_HEADERDATA, slot);
    code |= api->setopt(easy, OPT_READFUNCTION, on_read);
    code |= api->setopt(easy, OPT_READDATA, slot);
    code |= api->setopt(easy, OPT_SOCKOPTFUNCTION, on_sockopt);
    code |= api->setopt(easy, OPT_SOCKOPTDATA, slot);
    code |= api->setopt(easy, OPT_PREREQFUNCTION, on_prereq);
    code |= api->setopt(easy, OPT_PREREQDATA, slot);
    code |= api->setopt(easy, OPT_ERRORBUFFER, slot->error);
    return code;
}

/* Parse two pointers (ints) from args. */
static int two_pointers(PyObject *args, void **first, void **second) {
    PyObject *a, *b;
    if (!PyArg_ParseTuple(args, "OO", &a, &b)) {
        return -1;
    }
    *first = as_pointer(a);
    if (*first == NULL) {
        return -1;
    }
    *second = as_pointer(b);
    return *second == NULL ? -1 : 0;
}

/* Set the slot's callbacks on its handle through curl_easy_setopt at setopt. */
static int attach_or_raise(Slot *slot, void *setopt) {
    Api api;
    memset(&api, 0, sizeof(api));
    api.setopt = setopt;
    if (attach(slot, &api) != 0) {
        PyErr_SetString(PyExc_RuntimeError, "libcurl refused the driver's callbacks");
        return -1;
    }
    return 0;
}

/* slot_new(setopt, easy) -> slot: the per-handle state, its callbacks set on easy. */
static PyObject *m_slot_new(PyObject *self, PyObject *args) {
    void *setopt, *easy;
    (void)self;
    if (two_pointers(args, &setopt, &easy) != 0) {
        return NULL;
    }
    Slot *slot = calloc(1, sizeof(Slot));
    if (slot == NULL) {
        return PyErr_NoMemory();
    }
    slot->easy = easy;
    slot->limit = -1;
    slot->content_length = -1;
    if (attach_or_raise(slot, setopt) != 0) {
        free(slot);
        return NULL;
    }
    return PyLong_FromVoidPtr(slot);
}

/* slot_attach(setopt, slot): set the callbacks again (after curl_easy_reset). */
static PyObject *m_slot_attach(PyObject *self, PyObject *args) {
    void *setopt, *slot;
    (void)self;
    if (two_pointers(args, &setopt, &slot) != 0 || attach_or_raise(slot, setopt) != 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

/* slot_free(slot): after its easy handle is closed (nothing calls back any more). */
static PyObject *m_slot_free(PyObject *self, PyObject *arg) {
    (void)self;
    Slot *slot = as_pointer(arg);
    if (slot == NULL) {
        return NULL;
    }
    Driver *driver = slot->driver;
    if (driver != NULL) { /* still queued for a command: take it out of the queue */
        pthread_mutex_lock(&driver->mutex);
        if (slot->commanded) {
            Slot *previous = NULL;
            for (Slot *item = driver->command_head; item != NULL; item = item->command_next) {
                if (item == slot) {
                    if (previous) {
                        previous->command_next = slot->command_next;
                    } else {
                        driver->command_head = slot->command_next;
                    }
                    if (driver->command_tail == slot) {
                        driver->command_tail = previous;
                    }
                    break;
                }
                previous = item;
            }
            slot->commanded = 0;
        }
        if (slot->known_prev) {
            slot->known_prev->known_next = slot->known_next;
        } else {
            driver->known = slot->known_next;
        }
        if (slot->known_next) {
            slot->known_next->known_prev = slot->known_prev;
        }
        pthread_mutex_unlock(&driver->mutex);
    }
    Py_CLEAR(slot->transfer);
    buffer_free(&slot->body);
    buffer_free(&slot->head);
    buffer_free(&slot->upload);
    free(slot);
    Py_RETURN_NONE;
}

/* start(driver, slot, transfer, window, limit, timeout_ms, guard, sized_ok, upload, eof). */
static PyObject *m_start(PyObject *self, PyObject *args) {
    PyObject *driver_object, *slot_object, *transfer;
    long long window, limit, timeout_ms;
    int guard, sized_ok, eof;
    Py_buffer upload;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOOLLLppy*p", &driver_object, &slot_object, &transfer, &window,
                          &limit, &timeout_ms, &guard, &sized_ok, &upload, &eof)) {
        return NULL;
    }
    Driver *driver = as_pointer(driver_object);
    Slot *slot = as_pointer(slot_object);
    if (driver == NULL || slot == NULL) {
        PyBuffer_Release(&upload);
        return NULL;
    }
    if (slot->started || (slot->driver != NULL && slot->driver != driver)) {
        PyBuffer_Release(&upload);
        PyErr_SetString(PyExc_RuntimeError,
                        slot->started ? "the handle is in a transfer already"
                                      : "the handle belongs to another driver");
        return NULL;
    }
    pthread_mutex_lock(&driver->mutex);
    if (slot->driver == NULL) {
        slot->driver = driver;
        slot->known_prev = NULL;
        slot->known_next = driver->known;
        if (driver->known) {
            driver->known->known_prev = slot;
        }
        driver->known = slot;
    }
    slot->body.len = 0;
    slot->body_offset = 0;
    slot->content_length = -1;
    slot->chunked = 0;
    slot->status = 0;
    slot->sized_ok = sized_ok;
    slot->head.len = 0;
    slot->head_sent = 0;
    slot->upload.len = 0;
    slot->upload_offset = 0;
    int failed = upload.len > 0 && buffer_add(&slot->upload, upload.buf, (size_t)upload.len) != 0;
    slot->upload_eof = eof;
    slot->arrived = 0;
    slot->want_data = 0;
    slot->window = window;
    slot->limit = limit;
    slot->recv_paused = slot->send_paused = 0;
    slot->events = 0;
    slot->started = 1;
    slot->done = 0;
    slot->result = 0;
    slot->ended = END_LIBCURL;
    slot->guard = guard;
    slot->sent_once = 0;
    slot->timeout_ms = timeout_ms;
    slot->error[0] = '\0';
    int sleeping = 0;
    if (failed) { /* not started: the caller takes the handle back */
        slot->started = 0;
    } else {
        Py_INCREF(transfer);
        Py_XSETREF(slot->transfer, transfer);
        sleeping = command(slot, CMD_START);
    }
    pthread_mutex_unlock(&driver->mutex);
    PyBuffer_Release(&upload);
    if (failed) {
        return PyErr_NoMemory();
    }
    wake(driver, sleeping);
    Py_RETURN_NONE;
}

static Slot *started_slot(PyObject *arg) {
    Slot *slot = as_pointer(arg);
    if (slot == NULL) {
        return NULL;
    }
    if (slot->driver == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "the handle was never started");
        return NULL;
    }
    return slot;
}

/* abort(slot): end the transfer now (a no-op once it ended). */
static PyObject *m_abort(PyObject *self, PyObject *arg) {
    (void)self;
    Slot *slot = started_slot(arg);
    if (slot == NULL) {
        return NULL;
    }
    Driver *driver = slot->driver;
    int sleeping = 0;
    pthread_mutex_lock(&driver->mutex);
    if (slot->started && !slot->done) {
        sleeping = command(slot, CMD_ABORT);
    }
    pthread_mutex_unlock(&driver->mutex);
    wake(driver, sleeping);
    Py_RETURN_NONE;
}

/* With the mutex held: resume a transfer paused for want of a reader; whether the driver
 * thread sleeps (see wake()). */
static int resume_receiving(Slot *slot) {
    if (!slot->recv_paused || slot->done) {
        return 0;
    }
    slot->recv_paused = 0;
    return command(slot, CMD_PAUSE);
}

/* pull(slot) -> bytes: up to PIECE body bytes not pulled yet (resumes a transfer paused
 * for want of a reader once half its window is free). */
static PyObject *m_pull(PyObject *self, PyObject *arg) {
    (void)self;
    Slot *slot = started_slot(arg);
    if (slot == NULL) {
        return NULL;
    }
    Driver *driver = slot->driver;
    int sleeping = 0;
    pthread_mutex_lock(&driver->mutex);
    size_t left = unread(slot);
    size_t take = left < PIECE ? left : PIECE;
    PyObject *data = PyBytes_FromStringAndSize(slot->body.data + slot->body_offset, (Py_ssize_t)take);
    if (data != NULL) {
        slot->body_offset += take;
        left -= take;
        slot->want_data = take == 0 && !slot->done; /* the reader waits next */
        if (slot->body_offset == slot->body.len) {
            slot->body.len = slot->body_offset = 0;
        }
        if ((long long)left <= slot->window / 2) {
            sleeping = resume_receiving(slot);
        }
    }
    pthread_mutex_unlock(&driver->mutex);
    wake(driver, sleeping);
    return data;
}

/* read_whole(slot, limit): never pause again; fail past limit body bytes (-1: none). */
static PyObject *m_read_whole(PyObject *self, PyObject *args) {
    PyObject *slot_object;
    long long limit;
    (void)self;
    if (!PyArg_ParseTuple(args, "OL", &slot_object, &limit)) {
        return NULL;
    }
    Slot *slot = started_slot(slot_object);
    if (slot == NULL) {
        return NULL;
    }
    Driver *driver = slot->driver;
    int sleeping = 0;
    pthread_mutex_lock(&driver->mutex);
    slot->window = 0;
    slot->limit = limit;
    slot->want_data = 0; /* the reader waits for the end */
    sleeping = resume_receiving(slot);
    pthread_mutex_unlock(&driver->mutex);
    wake(driver, sleeping);
    Py_RETURN_NONE;
}

/* feed(slot, data, eof): the next piece of a streamed request body. */
static PyObject *m_feed(PyObject *self, PyObject *args) {
    PyObject *slot_object;
    Py_buffer data;
    int eof;
    (void)self;
    if (!PyArg_ParseTuple(args, "Oy*p", &slot_object, &data, &eof)) {
        return NULL;
    }
    Slot *slot = started_slot(slot_object);
    if (slot == NULL) {
        PyBuffer_Release(&data);
        return NULL;
    }
    Driver *driver = slot->driver;
    int sleeping = 0;
    pthread_mutex_lock(&driver->mutex);
    int failed = data.len > 0 && buffer_add(&slot->upload, data.buf, (size_t)data.len) != 0;
    if (!failed) {
        slot->upload_eof = eof;
        if (slot->send_paused && !slot->done) {
            slot->send_paused = 0;
            sleeping = command(slot, CMD_PAUSE);
        }
    }
    pthread_mutex_unlock(&driver->mutex);
    PyBuffer_Release(&data);
    wake(driver, sleeping);
    if (failed) {
        return PyErr_NoMemory();
    }
    Py_RETURN_NONE;
}

/* events(driver) -> list of (transfer, bits, head, body, result, ended, error, sent_once):
 * what changed since the last call. head is the whole head so far when it grew (else
 * None); body is the rest of the body once done (else None); result, ended, error and
 * sent_once mean something once done. A done transfer's slot forgets it. */
static PyObject *m_events(PyObject *self, PyObject *arg) {
    (void)self;
    Driver *driver = as_pointer(arg);
    if (driver == NULL) {
        return NULL;
    }
    PyObject *list = PyList_New(0);
    if (list == NULL) {
        return NULL;
    }
    pthread_mutex_lock(&driver->mutex);
    driver->notify_armed = 1;
    if (driver->lent_count) {
        reclaim(driver);
    }
    Slot *slot = driver->event_head;
    while (slot) {
        unsigned int bits = slot->events;
        int done = (bits & EV_DONE) != 0;
        PyObject *head = Py_None, *body = Py_None, *error = Py_None;
        Py_INCREF(Py_None);
        Py_INCREF(Py_None);
        Py_INCREF(Py_None);
        int failed = 0;
        PyObject *adopted = NULL;
        if (slot->head.len > slot->head_sent) {
            Py_SETREF(head, PyBytes_FromStringAndSize(slot->head.data, (Py_ssize_t)slot->head.len));
            failed |= head == NULL;
            if (head != NULL) {
                slot->head_sent = slot->head.len;
            }
        }
        if (done && !failed) {
            if (slot->body_offset == 0 && (adopted = adopt(driver, &slot->body)) != NULL) {
                Py_SETREF(body, adopted); /* written in place: no copy */
            } else {
                Py_SETREF(body, PyBytes_FromStringAndSize(slot->body.data + slot->body_offset,
                                                          (Py_ssize_t)unread(slot)));
            }
            failed |= body == NULL;
            if (slot->error[0] && !failed) {
                slot->error[ERROR_SIZE] = '\0';
                Py_SETREF(error, PyUnicode_DecodeUTF8(slot->error, (Py_ssize_t)strlen(slot->error),
                                                      "replace"));
                failed |= error == NULL;
            }
        }
        PyObject *item = NULL;
        if (!failed) {
            PyObject *transfer = slot->transfer ? slot->transfer : Py_None;
            item = Py_BuildValue("(OIOOiiOi)", transfer, bits, head, body, slot->result,
                                 slot->ended, error, slot->sent_once);
        }
        Py_XDECREF(head);
        Py_XDECREF(body);
        Py_XDECREF(error);
        if (item == NULL || PyList_Append(list, item) != 0) {
            /* out of memory: leave this slot and the rest queued for the next call */
            Py_XDECREF(item);
            driver->event_head = slot;
            pthread_mutex_unlock(&driver->mutex);
            Py_DECREF(list);
            return NULL;
        }
        Py_DECREF(item);
        Slot *next = slot->event_next;
        slot->events = 0;
        slot->queued = 0;
        slot->event_next = NULL;
        if (done) {
            slot->started = 0;
            slot->commands = 0; /* what was asked of the transfer that ended: not of the next */
            buffer_trim(driver, &slot->body);
            slot->body_offset = 0;
            buffer_trim(NULL, &slot->head);
            buffer_trim(NULL, &slot->upload);
            slot->head_sent = 0;
            Py_CLEAR(slot->transfer);
        }
        slot = next;
    }
    driver->event_head = driver->event_tail = NULL;
    pthread_mutex_unlock(&driver->mutex);
    return list;
}

/* state(slot) -> (recv_paused, send_paused, body bytes held): for tests and debugging. */
static PyObject *m_state(PyObject *self, PyObject *arg) {
    (void)self;
    Slot *slot = started_slot(arg);
    if (slot == NULL) {
        return NULL;
    }
    pthread_mutex_lock(&slot->driver->mutex);
    PyObject *state = Py_BuildValue("(iin)", slot->recv_paused, slot->send_paused,
                                    (Py_ssize_t)unread(slot));
    pthread_mutex_unlock(&slot->driver->mutex);
    return state;
}

/* count(driver) -> transfers in the multi handle (read without a lock: a hint). */
static PyObject *m_count(PyObject *self, PyObject *arg) {
    (void)self;
    Driver *driver = as_pointer(arg);
    if (driver == NULL) {
        return NULL;
    }
    return PyLong_FromLong(__atomic_load_n(&driver->count, __ATOMIC_RELAXED));
}

/* inject_poll_failure(driver, code): the next curl_multi_poll "returns" code (tests). */
static PyObject *m_inject(PyObject *self, PyObject *args) {
    PyObject *driver_object;
    int code;
    (void)self;
    if (!PyArg_ParseTuple(args, "Oi", &driver_object, &code)) {
        return NULL;
    }
    Driver *driver = as_pointer(driver_object);
    if (driver == NULL) {
        return NULL;
    }
    pthread_mutex_lock(&driver->mutex);
    driver->injected = code;
    int sleeping = driver->sleeping;
    driver->sleeping = 0;
    pthread_mutex_unlock(&driver->mutex);
    wake(driver, sleeping);
    Py_RETURN_NONE;
}

/* set_adopt(flag): whether bodies may become bytes objects in place (see adopt()). */
static PyObject *m_set_adopt(PyObject *self, PyObject *arg) {
    (void)self;
    int flag = PyObject_IsTrue(arg);
    if (flag < 0) {
        return NULL;
    }
    adopt_ok = flag;
    Py_RETURN_NONE;
}

/* counters() -> {name: count} since the module was loaded, for tests: bodies adopted as
 * bytes objects in place, adopted bodies whose memory came back to a pool, held heads
 * that went with their end, naps to let a large body gather. */
static PyObject *m_counters(PyObject *self, PyObject *unused) {
    (void)self;
    (void)unused;
    return Py_BuildValue("{sKsKsKsK}",
                         "adopted", __atomic_load_n(&adopted_count, __ATOMIC_RELAXED),
                         "reclaimed", __atomic_load_n(&reclaimed_count, __ATOMIC_RELAXED),
                         "joined", __atomic_load_n(&joined_count, __ATOMIC_RELAXED),
                         "naps", __atomic_load_n(&nap_count, __ATOMIC_RELAXED));
}

static PyMethodDef methods[] = {
    {"counters", m_counters, METH_NOARGS, "counters() -> {name: count}, for tests"},
    {"set_adopt", m_set_adopt, METH_O, "set_adopt(flag)"},
    {"inject_poll_failure", m_inject, METH_VARARGS, "inject_poll_failure(driver, code)"},
    {"state", m_state, METH_O, "state(slot) -> (recv_paused, send_paused, held)"},
    {"count", m_count, METH_O, "count(driver) -> transfers in the multi handle"},
    {"new", m_new, METH_VARARGS, "new(multi, functions, notify_fd) -> driver"},
    {"run", m_run, METH_O, "run(driver) -> code: the loop, until stop(); releases the GIL"},
    {"stop", m_stop, METH_O, "stop(driver): end every transfer and return from run()"},
    {"free", m_free, METH_O, "free(driver): after run() returned"},
    {"slot_new", m_slot_new, METH_VARARGS, "slot_new(setopt, easy) -> slot"},
    {"slot_attach", m_slot_attach, METH_VARARGS, "slot_attach(setopt, slot)"},
    {"slot_free", m_slot_free, METH_O, "slot_free(slot): after its handle is closed"},
    {"start", m_start, METH_VARARGS,
     "start(driver, slot, transfer, window, limit, timeout_ms, guard, sized_ok, upload, eof)"},
    {"abort", m_abort, METH_O, "abort(slot)"},
    {"pull", m_pull, METH_O, "pull(slot) -> bytes"},
    {"read_whole", m_read_whole, METH_VARARGS, "read_whole(slot, limit)"},
    {"feed", m_feed, METH_VARARGS, "feed(slot, data, eof)"},
    {"events", m_events, METH_O, "events(driver) -> list"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "client_curl._cdriver",
    "The curl engine's driver loop in C (see client_curl._cdriver.c).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__cdriver(void) {
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) {
        return NULL;
    }
    if (PyModule_AddIntConstant(m, "EV_HEAD", EV_HEAD) || PyModule_AddIntConstant(m, "EV_DATA", EV_DATA) ||
        PyModule_AddIntConstant(m, "EV_DONE", EV_DONE) ||
        PyModule_AddIntConstant(m, "EV_SEND_PAUSED", EV_SEND_PAUSED) ||
        PyModule_AddIntConstant(m, "END_LIBCURL", END_LIBCURL) ||
        PyModule_AddIntConstant(m, "END_ABORTED", END_ABORTED) ||
        PyModule_AddIntConstant(m, "END_IDLE", END_IDLE) ||
        PyModule_AddIntConstant(m, "END_LIMIT", END_LIMIT) ||
        PyModule_AddIntConstant(m, "END_STOPPED", END_STOPPED) ||
        PyModule_AddIntConstant(m, "END_REFUSED", END_REFUSED) ||
        PyModule_AddIntConstant(m, "END_NOMEM", END_NOMEM) ||
        PyModule_AddIntConstant(m, "END_FAILED", END_FAILED)) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
