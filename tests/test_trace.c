/*
 * tests/test_trace.c - the event trace (HOPSIM_TRACE, cfg.trace_path) and
 * the sequence chart (HOPSIM_MSC, cfg.msc_path) of a known scenario.
 *
 * The scenario: process "hopsrv" serves the named port "svc"; process
 * "client" starts a thread "gatesrv" behind a gate, sleeps until 1500 ns,
 * calls the gate (answered), hops into "svc" with a checkpoint (returns),
 * then calls again with a receive timeout of 2000 ns: "gatesrv" takes the
 * call but sleeps until 6500 ns without replying, so the call times out
 * at 3500 ns.  Every time in the files is therefore exact.
 *
 * The JSON file is checked with a small JSON syntax checker written here
 * (so the check never depends on a host tool), then searched for the
 * expected events.  The chart is checked for its arcs in order, and given
 * to mscgen when mscgen is installed (skipped, saying so, otherwise); a
 * second scenario, below, checks the labels of a kept checkpoint, calls
 * of a process to itself and a stale reply.
 */
#include "testutil.h"

#include <unistd.h>

static hs_pid_t srv_pid, cli_pid;
static hs_tid_t main_tid, gsrv_tid;
static hs_status call1, hop1, call2;
static uint64_t hop_reply;

static char json_path[64], msc_path[64];

/* ---- the scenario ----------------------------------------------------------- */

static void svc_handler(hs_hop_t *hop, void *cookie)
{
    (void)cookie;
    hs_utcb()->mr[0] = hs_mr(hop, 0) + 1;
}

static int hopsrv(void *arg)
{
    (void)arg;
    hs_port_t p;
    EXPECT_ST(hs_port_create_named("svc", &p), HS_OK);
    EXPECT_ST(hs_port_set_handler(p, svc_handler, NULL), HS_OK);
    return hs_proc_serve();
}

static int gatesrv(void *arg)
{
    (void)arg;
    uint64_t label;
    hs_utcb_t *u = hs_utcb();
    EXPECT_ST(hs_ipc_wait(HS_NEVER, &label), HS_OK);
    u->tag = HS_TAG(0, 1);
    u->mr[0] = u->mr[0] + 1;
    EXPECT_ST(hs_ipc_reply(), HS_OK);
    EXPECT_ST(hs_ipc_wait(HS_NEVER, &label), HS_OK);
    EXPECT_ST(hs_thread_sleep(5000), HS_OK);    /* never replies */
    return 0;
}

static int client(void *arg)
{
    (void)arg;
    hs_thread_attr a;
    memset(&a, 0, sizeof a);
    a.name = "gatesrv";
    main_tid = hs_thread_self();
    EXPECT_ST(hs_thread_create(gatesrv, NULL, &a, &gsrv_tid), HS_OK);
    hs_cap_t g = 0, c = 0;
    EXPECT_ST(hs_gate_create(gsrv_tid, 1, &g), HS_OK);
    EXPECT_ST(hs_cap_derive(g, HS_CAP_SEND, 7, &c), HS_OK);
    EXPECT_ST(hs_thread_sleep(1500), HS_OK);

    hs_utcb()->tag = HS_TAG(1, 1);
    hs_utcb()->mr[0] = 10;
    call1 = hs_ipc_call(c, HS_NEVER, HS_NEVER);

    hs_port_t p;
    EXPECT_ST(hs_port_lookup("svc", HS_NEVER, &p), HS_OK);
    hop1 = hs_hop_call(p, 41, &hop_reply);

    hs_utcb()->tag = HS_TAG(1, 1);
    call2 = hs_ipc_call(c, HS_NEVER, 2000);
    return 0;
}

/* Run the scenario with the given trace and chart paths; returns what
 * hs_sim_start() returned, and runs only if it was HS_OK. */
static unsigned scenario_cpus = 1;

static hs_status run_scenario(const char *trace, const char *msc)
{
    hs_sim_config cfg = tu_config();
    cfg.ncpus = scenario_cpus;
    cfg.trace_path = trace;
    cfg.msc_path = msc;
    tu_status_reset();
    call1 = hop1 = call2 = HS_STATUS_COUNT;
    hs_status st = hs_sim_start(&cfg);
    if (st != HS_OK)
        return st;
    assert_int_equal(hs_proc_spawn("hopsrv", hopsrv, NULL, NULL, &srv_pid),
                     HS_OK);
    assert_int_equal(hs_proc_spawn("client", client, NULL, NULL, &cli_pid),
                     HS_OK);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    assert_int_equal(call1, HS_OK);
    assert_int_equal(hop1, HS_OK);
    assert_int_equal(hop_reply, 42);
    assert_int_equal(call2, HS_ETIMEOUT);
    return HS_OK;
}

/* ---- reading files ---------------------------------------------------------- */

/* The whole file at path, NUL terminated (the caller frees it). */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    char *s = malloc((size_t)n + 1);
    assert_non_null(s);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    return s;
}

/* ---- a JSON syntax checker (RFC 8259) --------------------------------------- */

struct json {
    const char *p;
    int depth;
};

static int json_value(struct json *j);

static void json_ws(struct json *j)
{
    while (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')
        j->p++;
}

static int json_string(struct json *j)
{
    if (*j->p++ != '"')
        return 0;
    for (;;) {
        unsigned char c = (unsigned char)*j->p++;
        if (c == '"')
            return 1;
        if (c < 0x20)
            return 0;               /* also the end of the text */
        if (c != '\\')
            continue;
        c = (unsigned char)*j->p++;
        if (c == 'u') {
            for (int i = 0; i < 4; i++, j->p++)
                if (!strchr("0123456789abcdefABCDEF", *j->p) || !*j->p)
                    return 0;
        } else if (!c || !strchr("\"\\/bfnrt", c)) {
            return 0;
        }
    }
}

static int json_digits(struct json *j)
{
    const char *s = j->p;
    while (*j->p >= '0' && *j->p <= '9')
        j->p++;
    return j->p > s;
}

static int json_number(struct json *j)
{
    if (*j->p == '-')
        j->p++;
    if (*j->p == '0')
        j->p++;
    else if (!json_digits(j))
        return 0;
    if (*j->p == '.') {
        j->p++;
        if (!json_digits(j))
            return 0;
    }
    if (*j->p == 'e' || *j->p == 'E') {
        j->p++;
        if (*j->p == '+' || *j->p == '-')
            j->p++;
        if (!json_digits(j))
            return 0;
    }
    return 1;
}

/* An object (close '}') or array (close ']'), after its opening. */
static int json_members(struct json *j, char close)
{
    json_ws(j);
    if (*j->p == close) {
        j->p++;
        return 1;
    }
    for (;;) {
        json_ws(j);
        if (close == '}') {
            if (!json_string(j))
                return 0;
            json_ws(j);
            if (*j->p++ != ':')
                return 0;
        }
        if (!json_value(j))
            return 0;
        json_ws(j);
        char c = *j->p++;
        if (c == close)
            return 1;
        if (c != ',')
            return 0;
    }
}

static int json_literal(struct json *j, const char *word)
{
    size_t n = strlen(word);
    if (strncmp(j->p, word, n) != 0)
        return 0;
    j->p += n;
    return 1;
}

static int json_value(struct json *j)
{
    json_ws(j);
    char c = *j->p;
    if (c == '{' || c == '[') {
        if (++j->depth > 64)
            return 0;
        j->p++;
        int ok = json_members(j, c == '{' ? '}' : ']');
        j->depth--;
        return ok;
    }
    if (c == '"')
        return json_string(j);
    if (c == '-' || (c >= '0' && c <= '9'))
        return json_number(j);
    return json_literal(j, "true") || json_literal(j, "false") ||
           json_literal(j, "null");
}

/* Whether s is one JSON text. */
static int json_valid(const char *s)
{
    struct json j = { s, 0 };
    if (!json_value(&j))
        return 0;
    json_ws(&j);
    return *j.p == '\0';
}

static void test_json_checker_refuses_broken_text(void **state)
{
    (void)state;
    assert_true(json_valid("{\"a\":[1,2.5,-3e2,\"x\\u00e9\",true,null]}"));
    assert_false(json_valid("{\"a\":[1,2,]}"));
    assert_false(json_valid("{\"a\":1"));
    assert_false(json_valid("{\"a\":01}"));
    assert_false(json_valid("{\"a\":\"\\q\"}"));
    assert_false(json_valid("{\"a\":1}}"));
    assert_false(json_valid("{a:1}"));
}

/* ---- finding events --------------------------------------------------------- */

/* The position of the event line that starts with the given fields, at
 * or after from; NULL if there is none.  The trace writes one event per
 * line, fields in this order. */
static const char *find_event(const char *text, const char *from, char ph,
                              const char *name, hs_pid_t pid, hs_tid_t tid,
                              const char *ts)
{
    char head[256];
    snprintf(head, sizeof head,
             "{\"ph\":\"%c\",\"name\":\"%s\",\"pid\":%u,\"tid\":%u,\"ts\":%s",
             ph, name, (unsigned)(uint32_t)pid, (unsigned)(uint32_t)tid, ts);
    const char *p = from ? from : text;
    while ((p = strstr(p, head)) != NULL) {
        if (p == text || p[-1] == '\n')
            return p;
        p++;
    }
    return NULL;
}

/* The number after "key": in the event line at p. */
static long field_num(const char *p, const char *key)
{
    char k[32];
    snprintf(k, sizeof k, "\"%s\":", key);
    const char *end = strchr(p, '\n');
    const char *f = strstr(p, k);
    assert_non_null(f);
    assert_true(!end || f < end);
    return strtol(f + strlen(k), NULL, 10);
}

static void paths_make(void)
{
    snprintf(json_path, sizeof json_path, "/tmp/hopsim-trace-%d.json",
             (int)getpid());
    snprintf(msc_path, sizeof msc_path, "/tmp/hopsim-trace-%d.msc",
             (int)getpid());
}

/* ---- the tests -------------------------------------------------------------- */

static void test_trace_json_holds_the_scenario(void **state)
{
    (void)state;
    paths_make();
    assert_int_equal(run_scenario(json_path, NULL), HS_OK);
    char *t = slurp(json_path);
    unlink(json_path);
    assert_true(json_valid(t));
    assert_non_null(strstr(t, "\"traceEvents\":["));

    /* Names: both processes, both threads of the client. */
    const char *p = find_event(t, NULL, 'M', "process_name", srv_pid, 0,
                               "0.000,\"args\":{\"name\":\"hopsrv\"}");
    assert_non_null(p);
    assert_non_null(find_event(t, NULL, 'M', "process_name", cli_pid, 0,
                               "0.000,\"args\":{\"name\":\"client\"}"));
    assert_non_null(find_event(t, NULL, 'M', "thread_name", cli_pid,
                               main_tid, "0.000,\"args\":{\"name\":\"main\"}"));
    assert_non_null(find_event(t, NULL, 'M', "thread_name", cli_pid,
                               gsrv_tid,
                               "0.000,\"args\":{\"name\":\"gatesrv\"}"));

    /* The call at 1.5 us: a flow from the caller, ended by the reply on
     * the server's track with the same id. */
    const char *s = find_event(t, NULL, 's', "call", cli_pid, main_tid,
                               "1.500");
    assert_non_null(s);
    const char *f = find_event(t, s, 'f', "call", cli_pid, gsrv_tid, "1.500");
    assert_non_null(f);
    assert_int_equal(field_num(s, "id"), field_num(f, "id"));

    /* The hop: a flow, a span in hopsrv on the client's track, its end
     * and the flow's end with the same id. */
    const char *hs = find_event(t, f, 's', "hop", cli_pid, main_tid, "1.500");
    assert_non_null(hs);
    const char *b = find_event(t, hs, 'B', "hopsrv", cli_pid, main_tid,
                               "1.500");
    assert_non_null(b);
    const char *e = find_event(t, b, 'E', "", cli_pid, main_tid, "1.500");
    assert_non_null(e);
    const char *hf = find_event(t, e, 'f', "hop", cli_pid, main_tid, "1.500");
    assert_non_null(hf);
    assert_int_equal(field_num(hs, "id"), field_num(hf, "id"));
    assert_true(field_num(hs, "id") != field_num(s, "id"));

    /* The second call's timeout, the client's end, the server's end. */
    const char *to = find_event(t, hf, 'i', "timeout", cli_pid, main_tid,
                                "3.500");
    assert_non_null(to);
    const char *x1 = find_event(t, to, 'i', "thread_exit", cli_pid, main_tid,
                                "3.500");
    assert_non_null(x1);
    assert_non_null(find_event(t, x1, 'i', "thread_exit", cli_pid, gsrv_tid,
                               "6.500"));
    assert_non_null(find_event(t, x1, 'i', "proc_exit", cli_pid, 0,
                               "6.500"));
    /* The live-thread counter: three threads (two processes) at the top. */
    assert_non_null(strstr(t, "\"ph\":\"C\",\"name\":\"threads\",\"pid\":0,"
                              "\"tid\":0,\"ts\":0.000,\"args\":{\"live\":3}"));
    free(t);
}

/* Whether lines appear in text in this order (each after the last). */
static void assert_in_order(const char *text, const char *const *lines,
                            size_t n)
{
    const char *p = text;
    for (size_t i = 0; i < n; i++) {
        const char *q = strstr(p, lines[i]);
        if (!q) {
            print_error("chart line %zu not found in order: %s\n%s\n", i,
                        lines[i], text);
            fail();
        }
        p = q + strlen(lines[i]);
    }
}

static void test_trace_msc_holds_the_arcs_in_order(void **state)
{
    (void)state;
    paths_make();
    assert_int_equal(run_scenario(NULL, msc_path), HS_OK);
    char *t = slurp(msc_path);
    static const char *const want[] = {
        /* client calls its own process's gate: the chart gets room on
         * the right for the loops */
        "msc {\n  hscale=\"2.0\";\n",
        ("  p0 [label=\"hopsrv\"],\n  p1 [label=\"client\"],\n"
         "  margin_r [label=\"\", linecolour=\"white\"];\n"),
        "p1 note p1 [label=\"sleep ends\"];\n",
        "p1 => p1 [label=\"call [10] label=1\"];  # main to gatesrv\n",
        "p1 >> p1 [label=\"reply [11]\"];  # gatesrv to main\n",
        "p1 => p0 [label=\"hop [41]\"];  # main\n",
        "p0 >> p1 [label=\"hop return [42]\"];  # main\n",
        "p1 => p1 [label=\"call [42] label=1\"];  # main to gatesrv\n",
        "p1 note p1 [label=\"timeout: ipc call (reply)\"];\n",
        "p1 abox p1 [label=\"thread main exits 0\"];\n",
        "p1 note p1 [label=\"sleep ends\"];\n",
        "p1 abox p1 [label=\"thread gatesrv exits 0\"];\n",
        "p1 abox p1 [label=\"process exits 0\"];\n",
        "}\n",
    };
    assert_in_order(t, want, sizeof want / sizeof want[0]);
    free(t);

    if (system("command -v mscgen >/dev/null 2>&1") != 0) {
        printf("test_trace: mscgen not installed: not rendering the chart\n");
    } else {
        char cmd[256];
        snprintf(cmd, sizeof cmd, "mscgen -T svg -o %s.svg %s", msc_path,
                 msc_path);
        assert_int_equal(system(cmd), 0);
        snprintf(cmd, sizeof cmd, "%s.svg", msc_path);
        assert_int_equal(access(cmd, R_OK), 0);
        unlink(cmd);
    }
    unlink(msc_path);
}

/* Render the chart at path with mscgen, if it is installed. */
static void msc_render(const char *path)
{
    if (system("command -v mscgen >/dev/null 2>&1") != 0) {
        printf("test_trace: mscgen not installed: not rendering the chart\n");
        return;
    }
    char cmd[256];
    snprintf(cmd, sizeof cmd, "mscgen -T png -o %s.png %s", path, path);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s.png", path);
    assert_int_equal(access(cmd, R_OK), 0);
    unlink(cmd);
}

/* ---- a second scenario: a kept checkpoint, a self-call, a stale reply
 *
 * "keeper" (spawned first) serves port "keep", whose handler keeps its
 * checkpoint; "caller" hops in with 41 and waits.  At 1000 ns keeper
 * resumes it with 7, then calls a gate of its own thread "echo" twice:
 * 5 is answered with 6; the second call gives up after 100 ns, and echo
 * replies 9 at 1500 ns, to nobody. */

static hs_checkpoint_t kept_cp;
static hs_status keep_st, resume_st, stale_st, hop_b, call_b1, call_b2;
static uint64_t hop_b_reply, call_b1_reply;

static void keep_handler(hs_hop_t *hop, void *cookie)
{
    (void)cookie;
    keep_st = hs_hop_keep(hop, &kept_cp);
}

static int echo_thread(void *arg)
{
    (void)arg;
    uint64_t label;
    hs_utcb_t *u = hs_utcb();
    EXPECT_ST(hs_ipc_wait(HS_NEVER, &label), HS_OK);
    u->tag = HS_TAG(0, 1);
    u->mr[0] += 1;
    EXPECT_ST(hs_ipc_reply(), HS_OK);
    EXPECT_ST(hs_ipc_wait(HS_NEVER, &label), HS_OK);
    EXPECT_ST(hs_thread_sleep(500), HS_OK);
    u->tag = HS_TAG(0, 1);
    u->mr[0] = 9;
    stale_st = hs_ipc_reply();
    return 0;
}

static int keeper(void *arg)
{
    (void)arg;
    hs_port_t p;
    hs_tid_t t;
    hs_cap_t g;
    hs_thread_attr a;
    memset(&a, 0, sizeof a);
    a.name = "echo";
    EXPECT_ST(hs_port_create_named("keep", &p), HS_OK);
    EXPECT_ST(hs_port_set_handler(p, keep_handler, NULL), HS_OK);
    EXPECT_ST(hs_thread_sleep(1000), HS_OK);
    uint64_t w = 7;
    resume_st = hs_checkpoint_resume(kept_cp, HS_OK, &w, 1);
    EXPECT_ST(hs_thread_create(echo_thread, NULL, &a, &t), HS_OK);
    EXPECT_ST(hs_gate_create(t, 0, &g), HS_OK);
    hs_utcb()->tag = HS_TAG(0, 1);
    hs_utcb()->mr[0] = 5;
    call_b1 = hs_ipc_call(g, HS_NEVER, HS_NEVER);
    call_b1_reply = hs_utcb()->mr[0];
    hs_utcb()->tag = HS_TAG(0, 1);
    call_b2 = hs_ipc_call(g, HS_NEVER, 100);
    EXPECT_ST(hs_thread_join(t, HS_NEVER, NULL), HS_OK);
    return 0;
}

static int caller(void *arg)
{
    (void)arg;
    hs_port_t p;
    EXPECT_ST(hs_port_lookup("keep", HS_NEVER, &p), HS_OK);
    hop_b = hs_hop_call(p, 41, &hop_b_reply);
    return 0;
}

static void test_trace_msc_labels_resumes_self_calls_and_stale_replies(
    void **state)
{
    (void)state;
    paths_make();
    hs_sim_config cfg = tu_config();
    cfg.msc_path = msc_path;
    tu_status_reset();
    keep_st = resume_st = stale_st = hop_b = call_b1 = call_b2 =
        HS_STATUS_COUNT;
    assert_int_equal(hs_sim_start(&cfg), HS_OK);
    assert_int_equal(hs_proc_spawn("keeper", keeper, NULL, NULL, NULL),
                     HS_OK);
    assert_int_equal(hs_proc_spawn("caller", caller, NULL, NULL, NULL),
                     HS_OK);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    assert_int_equal(keep_st, HS_OK);
    assert_int_equal(resume_st, HS_OK);
    assert_int_equal(hop_b, HS_OK);
    assert_int_equal(hop_b_reply, 7);
    assert_int_equal(call_b1, HS_OK);
    assert_int_equal(call_b1_reply, 6);
    assert_int_equal(call_b2, HS_ETIMEOUT);
    assert_int_equal(stale_st, HS_ESTALE);
    char *t = slurp(msc_path);
    static const char *const want[] = {
        /* the first process calls itself: room on the left */
        "msc {\n  hscale=\"2.0\";\n"
        "  margin_l [label=\"\", linecolour=\"white\"],\n"
        "  p0 [label=\"keeper\"],\n  p1 [label=\"caller\"];\n",
        "p1 => p0 [label=\"hop [41]\"];  # main\n",
        "p0 note p0 [label=\"checkpoint kept\"];\n",
        "p0 >> p1 [label=\"resume [7]\"];  # main to main\n",
        "p0 => p0 [label=\"call [5]\"];  # main to echo\n",
        "p0 >> p0 [label=\"reply [6]\"];  # echo to main\n",
        "p0 => p0 [label=\"call [6]\"];  # main to echo\n",
        "p0 note p0 [label=\"timeout: ipc call (reply)\"];\n",
        "p0 note p0 [label=\"stale reply [9]\"];\n",
        "}\n",
    };
    assert_in_order(t, want, sizeof want / sizeof want[0]);
    /* No arc for the kept checkpoint's return: the caller still waits. */
    assert_null(strstr(t, "hop return"));
    free(t);
    msc_render(msc_path);
    unlink(msc_path);
}

static void test_trace_bad_paths_are_refused(void **state)
{
    (void)state;
    hs_sim_config cfg = tu_config();
    cfg.trace_path = "/nonexistent-dir/x.json";
    assert_int_equal(hs_sim_start(&cfg), HS_EINVAL);
    cfg.trace_path = NULL;
    cfg.msc_path = "/nonexistent-dir/x.msc";
    assert_int_equal(hs_sim_start(&cfg), HS_EINVAL);
    /* Nothing was left started: a good start still works. */
    paths_make();
    assert_int_equal(run_scenario(json_path, msc_path), HS_OK);
    unlink(json_path);
    unlink(msc_path);
}

static void test_trace_env_names_the_files(void **state)
{
    (void)state;
    paths_make();
    assert_int_equal(setenv("HOPSIM_TRACE", json_path, 1), 0);
    assert_int_equal(setenv("HOPSIM_MSC", msc_path, 1), 0);
    assert_int_equal(run_scenario(NULL, NULL), HS_OK);
    assert_int_equal(access(json_path, R_OK), 0);
    assert_int_equal(access(msc_path, R_OK), 0);
    unlink(json_path);
    unlink(msc_path);
    assert_int_equal(setenv("HOPSIM_TRACE", "/nonexistent-dir/x.json", 1),
                     0);
    hs_sim_config cfg = tu_config();
    assert_int_equal(hs_sim_start(&cfg), HS_EINVAL);
    unsetenv("HOPSIM_TRACE");
    unsetenv("HOPSIM_MSC");
}

static void test_trace_is_the_same_across_two_runs(void **state)
{
    (void)state;
    paths_make();
    assert_int_equal(run_scenario(json_path, msc_path), HS_OK);
    char *j1 = slurp(json_path), *m1 = slurp(msc_path);
    assert_int_equal(run_scenario(json_path, msc_path), HS_OK);
    char *j2 = slurp(json_path), *m2 = slurp(msc_path);
    assert_string_equal(j1, j2);
    assert_string_equal(m1, m2);
    free(j1);
    free(j2);
    free(m1);
    free(m2);
    unlink(json_path);
    unlink(msc_path);
}

/* ---- memory: counters and fault instants */

static hs_tid_t toucher_tid;

static int mem_toucher(void *arg)
{
    (void)arg;
    uint64_t w = 0;
    hs_mem_read(0x9000, &w, sizeof w);          /* nothing there: killed */
    return 0;
}

static int mem_main(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_mem_map(0x200000, 0x200000, HS_PROT_READ, 0), HS_OK);
    EXPECT_ST(hs_thread_sleep(1000), HS_OK);
    EXPECT_ST(hs_mem_unmap(0x200000, 0x1000), HS_OK);   /* a split */
    EXPECT_ST(hs_thread_sleep(1000), HS_OK);
    hs_tid_t t;
    EXPECT_ST(hs_thread_create(mem_toucher, NULL, NULL, &t), HS_OK);
    toucher_tid = t;
    int v = 0;
    EXPECT_ST(hs_thread_join(t, HS_NEVER, &v), HS_OK);
    return 0;                                   /* the rest goes at exit */
}

static void test_trace_counts_frames_and_references(void **state)
{
    (void)state;
    paths_make();
    hs_sim_config cfg = tu_config();
    cfg.mem_size = 64ull << 20;                 /* 16384 frames */
    cfg.trace_path = json_path;
    hs_pid_t pid;
    tu_status_reset();
    assert_int_equal(hs_sim_start(&cfg), HS_OK);
    assert_int_equal(hs_proc_spawn("mem", mem_main, NULL, NULL, &pid),
                     HS_OK);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    char *t = slurp(json_path);
    unlink(json_path);
    assert_true(json_valid(t));
    /* One 2M page; then split by the unmap: 511 frames at 4K; then the
     * process's memory goes at its end. */
    const char *m = find_event(t, NULL, 'C', "memory", 0, 0,
                               "0.000,\"args\":{\"free_frames\":15872,"
                               "\"refs_4k\":0,\"refs_2m\":1,"
                               "\"refs_1g\":0}");
    assert_non_null(m);
    const char *u = find_event(t, m, 'C', "memory", 0, 0,
                               "1.000,\"args\":{\"free_frames\":15873,"
                               "\"refs_4k\":511,\"refs_2m\":0,"
                               "\"refs_1g\":0}");
    assert_non_null(u);
    /* The toucher's fault: an instant, then its death. */
    const char *f = find_event(t, u, 'i', "page_fault", pid, toucher_tid,
                               "2.000");
    assert_non_null(f);
    assert_non_null(find_event(t, f, 'i', "pf_kill", pid, toucher_tid,
                               "2.000"));
    assert_non_null(find_event(t, f, 'C', "memory", 0, 0,
                               "2.000,\"args\":{\"free_frames\":16384,"
                               "\"refs_4k\":0,\"refs_2m\":0,"
                               "\"refs_1g\":0}"));
    free(t);
}

/* ---- several CPUs */

/* Whether every track's spans nest: no end before its begin, none left
 * open at the end of the file. */
static int spans_balanced(const char *t)
{
    /* Open spans per track; tracks are few in the scenario. */
    struct { long pid, tid, open; } track[32];
    int ntracks = 0;
    for (const char *p = t; (p = strstr(p, "{\"ph\":\"")) != NULL; p++) {
        char ph = p[7];
        if (ph != 'B' && ph != 'E')
            continue;
        long pid = field_num(p, "pid"), tid = field_num(p, "tid");
        int i = 0;
        while (i < ntracks && (track[i].pid != pid || track[i].tid != tid))
            i++;
        if (i == ntracks) {
            if (ntracks == 32)
                return 0;
            track[ntracks].pid = pid;
            track[ntracks].tid = tid;
            track[ntracks++].open = 0;
        }
        track[i].open += ph == 'B' ? 1 : -1;
        if (track[i].open < 0)
            return 0;                   /* an end before its begin */
    }
    for (int i = 0; i < ntracks; i++)
        if (track[i].open != 0)
            return 0;
    return ntracks > 0;
}

/* Every flow end has its start, with the same id, before it (a start
 * may stay open: a call that timed out is never replied to). */
static int flows_paired(const char *t)
{
    int ends = 0;
    for (const char *p = t; (p = strstr(p, "{\"ph\":\"f\"")) != NULL; p++) {
        long id = field_num(p, "id");
        int found = 0;
        for (const char *q = t; !found && q < p &&
             (q = strstr(q, "{\"ph\":\"s\"")) != NULL && q < p; q++)
            found = field_num(q, "id") == id;
        if (!found)
            return 0;
        ends++;
    }
    return ends > 0;
}

static void test_trace_with_two_cpus_is_whole(void **state)
{
    (void)state;
    paths_make();
    scenario_cpus = 2;
    hs_status st = run_scenario(json_path, NULL);
    scenario_cpus = 1;
    assert_int_equal(st, HS_OK);
    char *t = slurp(json_path);
    unlink(json_path);
    assert_true(json_valid(t));
    assert_true(spans_balanced(t));
    assert_true(flows_paired(t));
    free(t);
}

/* ---- a third scenario: nested hops and a kept checkpoint in the JSON
 *
 * "client" hops into "out", whose handler hops on into "in" (both return
 * at once), then hops into "k", whose handler keeps its checkpoint; the
 * main thread of "k" resumes it at 1000 ns. */

static hs_pid_t flow_cli_pid, flow_k_pid;
static hs_tid_t flow_cli_tid, flow_k_tid;
static hs_checkpoint_t flow_kept;
static hs_status flow_out, flow_k;

static void in_handler(hs_hop_t *hop, void *cookie)
{
    (void)cookie;
    hs_utcb()->mr[0] = hs_mr(hop, 0) + 1;
}

static void out_handler(hs_hop_t *hop, void *cookie)
{
    (void)hop;
    (void)cookie;
    hs_port_t p;
    EXPECT_ST(hs_port_lookup("in", HS_NEVER, &p), HS_OK);
    EXPECT_ST(hs_hop(p, HS_HOP_CHECKPOINT, HS_NEVER), HS_OK);
}

static void k_handler(hs_hop_t *hop, void *cookie)
{
    (void)cookie;
    EXPECT_ST(hs_hop_keep(hop, &flow_kept), HS_OK);
}

/* A process serving port name with handler h; with resume set, its main
 * thread resumes the kept checkpoint at 1000 ns. */
struct flow_srv {
    const char *name;
    hs_hop_handler h;
    int resume;
};

static int flow_server(void *arg)
{
    const struct flow_srv *s = arg;
    hs_port_t p;
    EXPECT_ST(hs_port_create_named(s->name, &p), HS_OK);
    EXPECT_ST(hs_port_set_handler(p, s->h, NULL), HS_OK);
    if (!s->resume)
        return (int)hs_proc_serve();
    flow_k_tid = hs_thread_self();
    EXPECT_ST(hs_thread_sleep(1000), HS_OK);
    uint64_t w = 5;
    EXPECT_ST(hs_checkpoint_resume(flow_kept, HS_OK, &w, 1), HS_OK);
    return 0;
}

static int flow_client(void *arg)
{
    (void)arg;
    hs_port_t out, k;
    flow_cli_tid = hs_thread_self();
    EXPECT_ST(hs_port_lookup("out", HS_NEVER, &out), HS_OK);
    EXPECT_ST(hs_port_lookup("k", HS_NEVER, &k), HS_OK);
    flow_out = hs_hop_call(out, 1, NULL);
    flow_k = hs_hop_call(k, 1, NULL);
    return 0;
}

/* Each checkpointed hop's flow ends at its own return, inner before
 * outer, or, kept, at the resume on the resumer's track. */
static void test_trace_json_hop_flows_end_at_their_return_or_resume(
    void **state)
{
    (void)state;
    static const struct flow_srv in = { "in", in_handler, 0 };
    static const struct flow_srv out = { "out", out_handler, 0 };
    static const struct flow_srv kk = { "k", k_handler, 1 };
    paths_make();
    hs_sim_config cfg = tu_config();
    cfg.trace_path = json_path;
    tu_status_reset();
    flow_out = flow_k = HS_STATUS_COUNT;
    assert_int_equal(hs_sim_start(&cfg), HS_OK);
    assert_int_equal(hs_proc_spawn("in", flow_server, (void *)&in, NULL,
                                   NULL), HS_OK);
    assert_int_equal(hs_proc_spawn("out", flow_server, (void *)&out, NULL,
                                   NULL), HS_OK);
    assert_int_equal(hs_proc_spawn("k", flow_server, (void *)&kk, NULL,
                                   &flow_k_pid), HS_OK);
    assert_int_equal(hs_proc_spawn("client", flow_client, NULL, NULL,
                                   &flow_cli_pid), HS_OK);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    assert_int_equal(flow_out, HS_OK);
    assert_int_equal(flow_k, HS_OK);
    char *t = slurp(json_path);
    unlink(json_path);
    assert_true(json_valid(t));
    hs_pid_t c = flow_cli_pid;
    hs_tid_t ct = flow_cli_tid;
    const char *s_out = find_event(t, NULL, 's', "hop", c, ct, "0.000");
    assert_non_null(s_out);
    const char *s_in = find_event(t, s_out + 1, 's', "hop", c, ct, "0.000");
    assert_non_null(s_in);
    const char *f_in = find_event(t, s_in, 'f', "hop", c, ct, "0.000");
    assert_non_null(f_in);
    const char *f_out = find_event(t, f_in + 1, 'f', "hop", c, ct, "0.000");
    assert_non_null(f_out);
    assert_int_equal(field_num(s_in, "id"), field_num(f_in, "id"));
    assert_int_equal(field_num(s_out, "id"), field_num(f_out, "id"));
    assert_true(field_num(s_in, "id") != field_num(s_out, "id"));
    /* The kept one: started by the client, ended by k's main thread at
     * the resume, not by the handler's return. */
    const char *s_k = find_event(t, f_out, 's', "hop", c, ct, "0.000");
    assert_non_null(s_k);
    assert_null(find_event(t, s_k, 'f', "hop", c, ct, "0.000"));
    const char *f_k = find_event(t, s_k, 'f', "hop", flow_k_pid, flow_k_tid,
                                 "1.000");
    assert_non_null(f_k);
    assert_int_equal(field_num(s_k, "id"), field_num(f_k, "id"));
    assert_true(flows_paired(t));
    free(t);
}

int main(void)
{
    /* The environment must not name files for the tests' own runs. */
    unsetenv("HOPSIM_TRACE");
    unsetenv("HOPSIM_MSC");
    const struct CMUnitTest tests[] = {
        TU_TEST(test_json_checker_refuses_broken_text),
        TU_TEST(test_trace_json_holds_the_scenario),
        TU_TEST(test_trace_msc_holds_the_arcs_in_order),
        TU_TEST(test_trace_msc_labels_resumes_self_calls_and_stale_replies),
        TU_TEST(test_trace_json_hop_flows_end_at_their_return_or_resume),
        TU_TEST(test_trace_bad_paths_are_refused),
        TU_TEST(test_trace_env_names_the_files),
        TU_TEST(test_trace_is_the_same_across_two_runs),
        TU_TEST(test_trace_counts_frames_and_references),
        TU_TEST(test_trace_with_two_cpus_is_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
