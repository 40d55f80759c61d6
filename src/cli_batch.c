/*
 * cli_batch.c: tiny-cache-cli's batch commands: mget, mset and mdel make
 * one MultiGet, MultiSet or MultiDelete call for all the keys of the
 * command line and print one line per key, in order.
 *
 * A line is the key, a tab, then the value (mget), "(not found)" (mget),
 * "OK" (mset, mdel) or "(error: why)". Keys and values are written
 * escaped (backslash, tab, newline and the other control bytes), so a line
 * is always one line; tiny-cache-cli(1) has the details. An item that
 * failed is also named on standard error and makes the exit status 1, as
 * does a key that mget did not find; the other items are still applied.
 */
#include "tc_autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache_wire.pb-c.h"
#include "cli.h"
#include "client.h"

/* A batch call's items (pointing into argv) and its unpacked answer. */
struct cli_batch {
    struct client_item *items;
    size_t n;
    ProtobufCMessage *answer;
};

/*
 * What a batch command calls, how it encodes its items, what it is
 * answered (a message whose only field is its repeated results) and how it
 * prints one result: returns 0 or CLI_EXIT_MISS.
 */
struct cli_batch_kind {
    enum rpc_method method;
    uint8_t *(*encode)(const struct client_item *, size_t, size_t *);
    const ProtobufCMessageDescriptor *answer;
    int (*print)(const struct cli *, size_t, const struct client_item *,
                 const void *result);
};

/* Write p as one line's worth of text: control bytes and backslash escaped,
 * every other byte (UTF-8 included) as it is. */
static void
cli_batch_put_escaped(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\\')
            fputs("\\\\", stdout);
        else if (p[i] == '\t')
            fputs("\\t", stdout);
        else if (p[i] == '\n')
            fputs("\\n", stdout);
        else if (p[i] < 0x20 || p[i] == 0x7f)
            printf("\\x%02x", p[i]);
        else
            putchar(p[i]);
    }
}

static void
cli_batch_put_key(const struct client_item *it)
{
    cli_batch_put_escaped((const uint8_t *)it->key, it->key_len);
    putchar('\t');
}

/* Finish item i's line with its error and name it on stderr. */
static int
cli_batch_failed(const struct cli *cli, size_t i, const struct client_item *it,
                 const char *why)
{
    if (why == NULL || why[0] == '\0')
        why = "the server gave no reason";
    printf("(error: %s)\n", why);
    cli_fail("%s: item %zu ('%s'): %s", cli->cmd->name, i + 1, it->key, why);
    return CLI_EXIT_MISS;
}

/*
 * The items of the command line: each argument a key, or (two arguments a
 * step) pairs of key and value. NULL when out of memory.
 */
static struct client_item *
cli_batch_items(const struct cli *cli, size_t *n)
{
    size_t step = (size_t)cli->cmd->arg_step;
    struct client_item *items;

    *n = (size_t)cli->nargs / step;
    if ((items = calloc(*n ? *n : 1, sizeof *items)) == NULL)
        return NULL;
    for (size_t i = 0; i < *n; i++) {
        const char *key = cli->arg[i * step];

        items[i].key = key;
        items[i].key_len = strlen(key);
        items[i].ttl_s = cli->ttl_s;
        if (step == 2) {
            items[i].value = (const uint8_t *)cli->arg[i * step + 1];
            items[i].value_len = strlen(cli->arg[i * step + 1]);
        }
    }
    return items;
}

/*
 * Encode the command line's items as k says, call and unpack the answer.
 * Returns 0 with b filled (release it with cli_batch_fini()), or an exit
 * status with b empty.
 */
static int
cli_batch_call(struct cli *cli, struct client *c,
               const struct cli_batch_kind *k, struct cli_batch *b)
{
    uint8_t *req;
    size_t len = 0;
    int rc;

    memset(b, 0, sizeof *b);
    if ((b->items = cli_batch_items(cli, &b->n)) == NULL) {
        cli_fail("out of memory");
        return CLI_EXIT_USAGE;
    }
    req = k->encode(b->items, b->n, &len);
    rc = cli_request(cli, c, k->method, req, len, k->answer, &b->answer);
    if (rc != 0) {
        free(b->items);
        b->items = NULL;
    }
    return rc;
}

static void
cli_batch_fini(struct cli_batch *b)
{
    protobuf_c_message_free_unpacked(b->answer, NULL);
    free(b->items);
}

/* The results of an answer: its one repeated field, by its descriptor. */
static size_t
cli_batch_results(const ProtobufCMessage *m, void *const **results)
{
    const ProtobufCFieldDescriptor *f = &m->descriptor->fields[0];
    const char *p = (const char *)m;

    *results = *(void *const *const *)(const void *)(p + f->offset);
    return *(const size_t *)(const void *)(p + f->quantifier_offset);
}

/* Item i's line of mget. Returns 0, or CLI_EXIT_MISS (missing or failed). */
static int
cli_batch_lookup(const struct cli *cli, size_t i, const struct client_item *it,
                 const void *result)
{
    const Cache__CacheLookup *l = result;

    cli_batch_put_key(it);
    if (l->error != NULL && l->error[0] != '\0')
        return cli_batch_failed(cli, i, it, l->error);
    if (!l->found) {
        puts("(not found)");
        return CLI_EXIT_MISS;
    }
    cli_batch_put_escaped(l->value.data, l->value.len);
    putchar('\n');
    return CLI_EXIT_OK;
}

/* Item i's line of mset or mdel. Returns 0 or CLI_EXIT_MISS (failed). */
static int
cli_batch_result(const struct cli *cli, size_t i, const struct client_item *it,
                 const void *result)
{
    const Cache__CacheOperationResult *r = result;

    cli_batch_put_key(it);
    if (r->status != CACHE__CACHE_STATUS__OK)
        return cli_batch_failed(cli, i, it, r->error);
    puts("OK");
    return CLI_EXIT_OK;
}

/* Run a batch command of kind k: the call, then a line per item. */
static int
cli_batch_run(struct cli *cli, struct client *c, const struct cli_batch_kind *k)
{
    void *const *results;
    struct cli_batch b;
    size_t n;
    int rc = cli_batch_call(cli, c, k, &b), out;

    if (rc != 0)
        return rc;
    if ((n = cli_batch_results(b.answer, &results)) != b.n) {
        cli_fail("the server answered %zu results for %zu items", n, b.n);
        cli_batch_fini(&b);
        return CLI_EXIT_SERVER;
    }
    for (size_t i = 0; i < n; i++)
        if (k->print(cli, i, &b.items[i], results[i]) != 0)
            rc = CLI_EXIT_MISS;
    cli_batch_fini(&b);
    out = cli_flush_stdout();
    return out != CLI_EXIT_OK ? out : rc;
}

static const struct cli_batch_kind cli_batch_kinds[] = {
    {RPC_MULTI_GET, client_encode_keys,
     &cache__multi_cache_value_response__descriptor, cli_batch_lookup},
    {RPC_MULTI_SET, client_encode_items,
     &cache__multi_cache_response__descriptor, cli_batch_result},
    {RPC_MULTI_DELETE, client_encode_keys,
     &cache__multi_cache_response__descriptor, cli_batch_result},
};

int
cli_batch_mget(struct cli *cli, struct client *c)
{
    return cli_batch_run(cli, c, &cli_batch_kinds[0]);
}

int
cli_batch_mset(struct cli *cli, struct client *c)
{
    return cli_batch_run(cli, c, &cli_batch_kinds[1]);
}

int
cli_batch_mdel(struct cli *cli, struct client *c)
{
    return cli_batch_run(cli, c, &cli_batch_kinds[2]);
}
