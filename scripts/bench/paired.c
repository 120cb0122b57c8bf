/* Paired timer for the benchmark scripts: runs several commands in turn (round-robin, so machine load drifts
 * over all of them alike), RUNS times each after one warm-up, and prints per command the median wall time, the
 * median CPU time (user + system, from wait4) and the peak resident set (ru_maxrss) as tab-separated fields:
 *     label  median_wall_ms  median_cpu_ms  max_rss_kib
 * Usage: paired RUNS LABEL CMD [ARG...] ::: LABEL CMD [ARG...] ::: ...
 * Commands are exec'd directly (no shell, whose own start-up would swamp millisecond costs); stdout goes to
 * /dev/null, stderr is kept. A command that exits non-zero is reported on stderr (the numbers still print). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

struct command { const char *label; char **argv; double *wall, *cpu; long rss; int failures; };

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *values, int count) {
    qsort(values, count, sizeof *values, compare);
    return count % 2 ? values[count / 2] : (values[count / 2 - 1] + values[count / 2]) / 2;
}

static void run(struct command *c, int slot, posix_spawn_file_actions_t *actions) {
    pid_t pid;
    double start = now_ms();
    if (posix_spawnp(&pid, c->argv[0], actions, NULL, c->argv, environ) != 0) { perror(c->argv[0]); exit(2); }
    int status;
    struct rusage usage;
    if (wait4(pid, &status, 0, &usage) < 0) { perror("wait4"); exit(2); }
    double wall = now_ms() - start;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) c->failures++;
    if (slot < 0) return;  /* warm-up */
    c->wall[slot] = wall;
    c->cpu[slot] = usage.ru_utime.tv_sec * 1e3 + usage.ru_utime.tv_usec / 1e3 + usage.ru_stime.tv_sec * 1e3 + usage.ru_stime.tv_usec / 1e3;
    if (usage.ru_maxrss > c->rss) c->rss = usage.ru_maxrss;
}

int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: %s RUNS LABEL CMD [ARG...] ::: LABEL CMD [ARG...] ...\n", argv[0]); return 2; }
    int runs = atoi(argv[1]);
    struct command commands[64];
    int count = 0;
    for (int i = 2; i < argc && count < 64;) {
        struct command *c = &commands[count++];
        memset(c, 0, sizeof *c);
        c->label = argv[i++];
        c->argv = &argv[i];
        while (i < argc && strcmp(argv[i], ":::") != 0) i++;
        if (i < argc) argv[i++] = NULL;  /* terminates this command's argv */
        c->wall = calloc(runs, sizeof(double));
        c->cpu = calloc(runs, sizeof(double));
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    for (int k = 0; k < count; k++) run(&commands[k], -1, &actions);
    for (int r = 0; r < runs; r++)
        for (int k = 0; k < count; k++) run(&commands[k], r, &actions);
    for (int k = 0; k < count; k++) {
        struct command *c = &commands[k];
        if (c->failures) fprintf(stderr, "paired: %s exited non-zero %d times\n", c->label, c->failures);
        printf("%s\t%.3f\t%.3f\t%ld\n", c->label, median(c->wall, runs), median(c->cpu, runs), c->rss);
    }
    return 0;
}
