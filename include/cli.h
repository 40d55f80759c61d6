/*
 * cli.h: tiny-cache-cli's parsed command line, its exit statuses and the
 * call helpers its command files share: cli.c (options, get, set, del,
 * stats, health), cli_batch.c (mget, mset, mdel) and cli_update.c (add,
 * cas, incr, touch, flush).
 */
#ifndef CLI_H
#define CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "client.h"
#include "tc.h"

/* What a run tells a script; tiny-cache-cli(1), EXIT STATUS. */
enum cli_exit {
    CLI_EXIT_OK = 0,
    CLI_EXIT_MISS = 1, /* not found, NOT_SERVING, an item of a batch failed */
    CLI_EXIT_USAGE = 2,
    CLI_EXIT_SERVER = 3,
    CLI_EXIT_UNREACHABLE = 4,
    CLI_EXIT_CONDITION = 5, /* add: the key exists; cas: the value differs */
};

struct cli;

/*
 * A command: its name and usage; how many arguments it takes (max_args -1:
 * any number) and in groups of how many; which command options it accepts
 * (CLI_CMD_*); which argument, if any, is a value that "-" reads from
 * standard input (-1: none); the function that runs it.
 */
#define CLI_CMD_TTL  0x1u
#define CLI_CMD_JSON 0x2u

struct cli_cmd {
    const char *name;
    const char *args;
    int min_args;
    int max_args;
    int arg_step;
    unsigned opts;
    int value_arg;
    int (*exec)(struct cli *, struct client *);
};

/* Everything parsed from the command line; strings point into argv. */
struct cli {
    struct client_opts conn;
    struct client_meta meta;
    double timeout_s;
    const struct cli_cmd *cmd;
    char **arg; /* the command's arguments, nargs of them */
    int nargs;
    int32_t ttl_s;
    bool json;
    uint8_t *value; /* the value of arg[cmd->value_arg], malloc'd */
    size_t value_len;
    grpc_status_code status; /* of the last call made */
};

TC_PRINTF(1, 2) void cli_fail(const char *fmt, ...);

/*
 * Call m with req (len bytes, freed here; NULL: out of memory) and unpack
 * the answer as a message of d. Returns 0 with *out set (free it with
 * protobuf_c_message_free_unpacked()), or the exit status after printing
 * why on stderr (out of memory, the call's gRPC status, a response that
 * does not decode).
 */
int cli_request(struct cli *cli, struct client *c, enum rpc_method m,
                uint8_t *req, size_t len, const ProtobufCMessageDescriptor *d,
                ProtobufCMessage **out);
/* cli_request() for the calls whose request is Empty. */
int cli_request_empty(struct cli *cli, struct client *c, enum rpc_method m,
                      const ProtobufCMessageDescriptor *d,
                      ProtobufCMessage **out);

/* Flush stdout; CLI_EXIT_USAGE with a message when it cannot be written. */
int cli_flush_stdout(void);

/*
 * Parse s as a number of seconds of a TTL for what; complain naming it.
 * Returns 0 or -1.
 */
int cli_parse_ttl(const char *what, const char *s, int32_t *out);

/* The batch commands (cli_batch.c). */
int cli_batch_mget(struct cli *cli, struct client *c);
int cli_batch_mset(struct cli *cli, struct client *c);
int cli_batch_mdel(struct cli *cli, struct client *c);

/* Conditional writes, counters, TTLs, flush (cli_update.c). */
int cli_update_add(struct cli *cli, struct client *c);
int cli_update_cas(struct cli *cli, struct client *c);
int cli_update_incr(struct cli *cli, struct client *c);
int cli_update_touch(struct cli *cli, struct client *c);
int cli_update_flush(struct cli *cli, struct client *c);

#endif
