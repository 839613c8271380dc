// tsp: Wasimoff's workload. Body "N [SEED]" -> the shortest closed tour over
// N cities placed at random (xorshift64 from SEED, default 1) in a 1000x1000
// square, by exhaustive search with pruning. Work grows like (N-1)!.
// Output: "length=L.LLL tour=0 a b c ...\n".
#include <math.h>
#include <stdint.h>
#include <stdio.h>

#define MAX_CITIES 16

static double dist[MAX_CITIES][MAX_CITIES];
static int n_cities;
static int path[MAX_CITIES], best_path[MAX_CITIES];
static int used[MAX_CITIES];
static double best = INFINITY;

static uint64_t rng_state;
static uint64_t next_rand(void) {
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

static void search(int depth, double len) {
    if (len >= best) return;
    if (depth == n_cities) {
        double total = len + dist[path[depth - 1]][0];
        if (total < best) {
            best = total;
            for (int i = 0; i < n_cities; i++) best_path[i] = path[i];
        }
        return;
    }
    for (int c = 1; c < n_cities; c++) {
        if (used[c]) continue;
        used[c] = 1;
        path[depth] = c;
        search(depth + 1, len + dist[path[depth - 1]][c]);
        used[c] = 0;
    }
}

int main(void) {
    unsigned long long seed = 1;
    int n;
    int got = scanf("%d %llu", &n, &seed);
    if (got < 1 || n < 2 || n > MAX_CITIES) {
        fprintf(stderr, "tsp: body must be \"N [SEED]\" with 2 <= N <= %d\n", MAX_CITIES);
        return 1;
    }
    n_cities = n;
    rng_state = seed ? seed : 1;
    double x[MAX_CITIES], y[MAX_CITIES];
    for (int i = 0; i < n; i++) {
        x[i] = (double)(next_rand() % 1000);
        y[i] = (double)(next_rand() % 1000);
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            dist[i][j] = sqrt((x[i] - x[j]) * (x[i] - x[j]) + (y[i] - y[j]) * (y[i] - y[j]));
    path[0] = 0;
    used[0] = 1;
    search(1, 0.0);
    printf("length=%.3f tour=", best);
    for (int i = 0; i < n; i++) printf(i ? " %d" : "%d", best_path[i]);
    printf("\n");
    return 0;
}
