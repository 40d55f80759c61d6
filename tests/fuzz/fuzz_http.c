/*
 * fuzz_http.c: libFuzzer target for the HTTP endpoint's request handling,
 * http_handle() (http_handle.c), against a small real store.
 *
 * Input: one byte that picks the process phase (starting, serving,
 * stopping), then lines split at '\n': the method, the URL, and header
 * lines "name: value". The head's size is the input's size less that
 * byte, the URL's length its own, as libmicrohttpd would report them; a
 * NUL byte ends a field, as in the strings libmicrohttpd hands over.
 *
 * Every answer is checked: a known status, a body of body_len bytes
 * without a NUL (JSON that jansson parses, unless it is /metrics or the
 * status page), the status page only with its Content-Security-Policy,
 * Allow exactly on 405, a valid x-request-id that echoes a valid one sent.
 *
 * scripts/fuzz.sh builds it and runs it on tests/fuzz/corpus/fuzz_http/
 * (docs/fuzzing.md).
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "fuzz.h"
#include "http_handle.h"
#include "lifecycle.h"
#include "reqid.h"
#include "store.h"

#define FUZZ_MAX_HEADERS 256

/* The request's header lines, split in place in a copy of the input. */
struct fuzz_headers {
    size_t n;
    const char *name[FUZZ_MAX_HEADERS];
    const char *value[FUZZ_MAX_HEADERS];
};

static struct config fuzz_cfg;
static struct reqstats fuzz_workers[2];
static struct http_deps fuzz_deps;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    struct store_config sc = {.shards = 2,
                              .max_items = 100,
                              .max_memory_bytes = 1 << 20,
                              .max_value_bytes = 1024,
                              .cleanup_interval_s = 10};
    struct store *st = store_create(&sc, &clock_monotonic);

    (void)argc, (void)argv;
    if (st == NULL)
        abort();
    for (int i = 0; i < 10; i++) {
        char key[16] = "key-0";

        key[4] = (char)('0' + i);
        store_set(st, NULL, 0, key, strlen(key), "value", 5, 0);
    }
    fuzz_deps = (struct http_deps){.cfg = &fuzz_cfg,
                                   .store = st,
                                   .workers = fuzz_workers,
                                   .nworkers = 2,
                                   .grpc_port = 50051,
                                   .start_mono_s = clock_mono_s(),
                                   .start_wall_s = clock_wall_s()};
    return 0;
}

static const char *
fuzz_header(void *ctx, const char *name, size_t *len)
{
    const struct fuzz_headers *h = ctx;

    for (size_t i = 0; i < h->n; i++)
        if (strcasecmp(h->name[i], name) == 0) {
            *len = strlen(h->value[i]);
            return h->value[i];
        }
    return NULL;
}

/* The next line of *p (ended by '\n', cut there), or "" at the end. */
static char *
fuzz_line(char **p)
{
    char *line = *p, *nl;

    if (line == NULL)
        return "";
    nl = strchr(line, '\n');
    *p = nl == NULL ? NULL : nl + 1;
    if (nl != NULL)
        *nl = '\0';
    return line;
}

static void
fuzz_split_headers(char *p, struct fuzz_headers *h)
{
    h->n = 0;
    while (p != NULL && h->n < FUZZ_MAX_HEADERS) {
        char *line = fuzz_line(&p), *colon = strchr(line, ':');

        if (colon == NULL)
            continue;
        *colon++ = '\0';
        colon += strspn(colon, " \t");
        h->name[h->n] = line;
        h->value[h->n++] = colon;
    }
}

static void
fuzz_check(const struct http_request *req, const struct http_response *r)
{
    static const int known[] = {200, 400, 404, 405, 414, 431, 500, 503};
    size_t sent_len = 0, id_len = strlen(r->request_id);
    const char *sent = req->header(req->header_ctx, "x-request-id", &sent_len);
    bool ok = false;

    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        ok |= r->status == known[i];
    FUZZ_CHECK(ok);
    FUZZ_CHECK(r->body != NULL && r->type != NULL && r->body_len > 0);
    FUZZ_CHECK(memchr(r->body, '\0', r->body_len) == NULL);
    FUZZ_CHECK(r->allow_get == (r->status == 405));
    FUZZ_CHECK(reqid_valid(r->request_id, id_len));
    /* the blanks around a header value are not part of it */
    while (sent != NULL && sent_len > 0 &&
           (sent[sent_len - 1] == ' ' || sent[sent_len - 1] == '\t'))
        sent_len--;
    if (sent != NULL && reqid_valid(sent, sent_len))
        FUZZ_CHECK(id_len == sent_len &&
                   memcmp(sent, r->request_id, id_len) == 0);
    /* the status page, and only it, goes with its Content-Security-Policy */
    FUZZ_CHECK((strcmp(r->type, "text/html; charset=utf-8") == 0) ==
               (r->csp != NULL));
    if (r->csp != NULL)
        FUZZ_CHECK(r->status == 200);
    if (strcmp(r->type, "application/json") == 0) {
        json_t *doc = json_loadb(r->body, r->body_len, 0, NULL);

        FUZZ_CHECK(doc != NULL);
        json_decref(doc);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_headers headers;
    struct http_request req;
    struct http_response resp;
    char *copy, *p;

    if (size == 0)
        return 0;
    lifecycle_set((enum lifecycle_phase)(data[0] % 3));
    copy = malloc(size);
    if (copy == NULL)
        return 0;
    memcpy(copy, data + 1, size - 1);
    copy[size - 1] = '\0';
    p = copy;
    req.method = fuzz_line(&p);
    req.url = fuzz_line(&p);
    req.url_bytes = strlen(req.url);
    req.head_bytes = size - 1;
    fuzz_split_headers(p, &headers);
    req.header = fuzz_header;
    req.header_ctx = &headers;
    http_handle(&fuzz_deps, &req, &resp);
    fuzz_check(&req, &resp);
    http_response_fini(&resp);
    free(copy);
    return 0;
}
