/*
 * cli_update.c: tiny-cache-cli's commands that change entries beyond set:
 * add (SetIfAbsent) and cas (CompareAndSet), which print the outcome word
 * and exit 0 when the value was stored; incr (Increment), which prints the
 * new value; touch (Touch) and flush (Flush).
 *
 * Exit statuses (tiny-cache-cli(1)): a missing key is 1, as for get; a
 * condition that did not hold (add: EXISTS, cas: MISMATCH) is 5.
 */
#include "tc_autoconf.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache_wire.pb-c.h"
#include "cli.h"
#include "client.h"

/* What add and cas print and exit with for each ConditionalCacheStatus. */
static const struct {
    Cache__ConditionalCacheStatus status;
    const char *word;
    int exit;
} cli_update_outcomes[] = {
    {CACHE__CONDITIONAL_CACHE_STATUS__STORED, "STORED", CLI_EXIT_OK},
    {CACHE__CONDITIONAL_CACHE_STATUS__EXISTS, "EXISTS", CLI_EXIT_CONDITION},
    {CACHE__CONDITIONAL_CACHE_STATUS__NOT_FOUND, "NOT_FOUND", CLI_EXIT_MISS},
    {CACHE__CONDITIONAL_CACHE_STATUS__MISMATCH, "MISMATCH", CLI_EXIT_CONDITION},
};

/* Make add's or cas's call m and print its outcome. */
static int
cli_update_conditional(struct cli *cli, struct client *c, enum rpc_method m,
                       uint8_t *req, size_t len)
{
    ProtobufCMessage *msg;
    Cache__ConditionalCacheStatus st;
    int rc = cli_request(cli, c, m, req, len,
                         &cache__conditional_cache_response__descriptor, &msg);

    if (rc != 0)
        return rc;
    st = ((const Cache__ConditionalCacheResponse *)msg)->status;
    protobuf_c_message_free_unpacked(msg, NULL);
    for (size_t i = 0; i < TC_ARRAY_LEN(cli_update_outcomes); i++)
        if (cli_update_outcomes[i].status == st) {
            puts(cli_update_outcomes[i].word);
            rc = cli_flush_stdout();
            return rc != CLI_EXIT_OK ? rc : cli_update_outcomes[i].exit;
        }
    cli_fail("the server answered status %d", (int)st);
    return CLI_EXIT_SERVER;
}

int
cli_update_add(struct cli *cli, struct client *c)
{
    size_t len = 0;
    uint8_t *req =
        client_encode_item(cli->arg[0], strlen(cli->arg[0]), cli->value,
                           cli->value_len, cli->ttl_s, &len);

    return cli_update_conditional(cli, c, RPC_SET_IF_ABSENT, req, len);
}

int
cli_update_cas(struct cli *cli, struct client *c)
{
    struct client_item it = {cli->arg[0], strlen(cli->arg[0]), cli->value,
                             cli->value_len, cli->ttl_s};
    size_t len = 0;
    uint8_t *req = client_encode_cas(&it, (const uint8_t *)cli->arg[1],
                                     strlen(cli->arg[1]), &len);

    return cli_update_conditional(cli, c, RPC_COMPARE_AND_SET, req, len);
}

/* incr's DELTA: a signed 64-bit base-10 number. Returns 0 or -1. */
static int
cli_update_parse_delta(const char *s, int64_t *out)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0') {
        cli_fail("incr: '%s' is not a number (%" PRId64 "..%" PRId64 ")", s,
                 INT64_MIN, INT64_MAX);
        return -1;
    }
    *out = (int64_t)v;
    return 0;
}

/* Say in words why Increment failed, beside the server's status line. */
static void
cli_update_incr_failed(const struct cli *cli)
{
    if (cli->status == GRPC_STATUS_FAILED_PRECONDITION)
        cli_fail("incr: the value of '%s' is not a base-10 signed 64-bit "
                 "integer; it is unchanged",
                 cli->arg[0]);
    else if (cli->status == GRPC_STATUS_OUT_OF_RANGE)
        cli_fail("incr: the new value of '%s' would not fit in a signed "
                 "64-bit integer; it is unchanged",
                 cli->arg[0]);
}

int
cli_update_incr(struct cli *cli, struct client *c)
{
    ProtobufCMessage *msg;
    int64_t delta = 1;
    size_t len = 0;
    uint8_t *req;
    int rc;

    if (cli->nargs > 1 && cli_update_parse_delta(cli->arg[1], &delta) != 0)
        return CLI_EXIT_USAGE;
    req = client_encode_increment(cli->arg[0], strlen(cli->arg[0]), delta,
                                  cli->ttl_s, &len);
    rc = cli_request(cli, c, RPC_INCREMENT, req, len,
                     &cache__increment_response__descriptor, &msg);
    if (rc != 0) {
        cli_update_incr_failed(cli);
        return rc;
    }
    printf("%" PRId64 "\n", ((const Cache__IncrementResponse *)msg)->value);
    protobuf_c_message_free_unpacked(msg, NULL);
    return cli_flush_stdout();
}

int
cli_update_touch(struct cli *cli, struct client *c)
{
    ProtobufCMessage *msg;
    int32_t ttl_s;
    size_t len = 0;
    uint8_t *req;
    int rc;

    if (cli_parse_ttl("touch", cli->arg[1], &ttl_s) != 0)
        return CLI_EXIT_USAGE;
    req = client_encode_touch(cli->arg[0], strlen(cli->arg[0]), ttl_s, &len);
    rc = cli_request(cli, c, RPC_TOUCH, req, len,
                     &cache__touch_response__descriptor, &msg);
    if (rc != 0)
        return rc;
    if (!((const Cache__TouchResponse *)msg)->found)
        rc = CLI_EXIT_MISS;
    protobuf_c_message_free_unpacked(msg, NULL);
    return rc;
}

int
cli_update_flush(struct cli *cli, struct client *c)
{
    ProtobufCMessage *msg;
    int rc = cli_request_empty(cli, c, RPC_FLUSH,
                               &cache__flush_response__descriptor, &msg);

    if (rc != 0)
        return rc;
    printf("%" PRId64 "\n", ((const Cache__FlushResponse *)msg)->removed);
    protobuf_c_message_free_unpacked(msg, NULL);
    return cli_flush_stdout();
}
