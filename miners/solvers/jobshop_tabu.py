"""Tabu search for the classic job shop (one machine per operation, no availability windows), compiled by numba.

A solution is a processing order per machine (a selection of the disjunctive graph); its semi-active schedule
starts every operation at its head (longest path from the source). One iteration:

1. compute heads and tails with one topological pass each (Kahn's order over job and machine arcs);
2. take one critical path and split it into blocks (maximal runs of consecutive operations on one machine);
3. evaluate the N5 neighbourhood (Nowicki & Smutnicki 1996: swap the first two and the last two operations of
   each block, except the head of the first block and the tail of the last) plus the N7 extension (Zhang et
   al. 2007: move an inner block operation to the block's first or last position, or the first / last one
   inside the block) with the Balas-Vazacopoulos style head/tail estimate of the new makespan;
4. apply the best non-tabu move (aspiration: a tabu move that beats the best makespan is allowed). The tabu
   list holds the reversed arcs with a dynamic tenure; when the search stagnates it jumps back to an elite
   solution and perturbs it with a few random critical swaps (i-TSAB style back-jumping).

An N5 swap of a critical pair is feasible unless the two operations are consecutive in one job (possible when
a job revisits a machine; such swaps are skipped); an N7 insertion is applied only when an exact path test
(depth-first, pruned by heads) shows it creates no cycle, and the topological pass re-checks every applied move
(a cyclic one sends the search back to its best solution), so the machine orders always describe a feasible
schedule.

`tabu_search` runs independent searches on `threads` threads (numba releases the GIL) until a wall-clock
deadline, calling the compiled kernel in chunks of iterations, and returns the best machine orders found.
"""
from __future__ import annotations

import os
import pickle
import threading
import time
from dataclasses import dataclass

import numpy as np

from .jit_cache import configure_cache

configure_cache()

import numba as nb  # noqa: E402  (the cache directory must be set first)

from fabrica.protocol.tasks.schedule import ScheduleAnswer, ScheduledOperation, ScheduleTask  # noqa: E402

TABU_SLOTS = 1 << 14
"""Size of the hashed tabu table (a colliding entry overwrites an older one: a slightly shorter memory)."""
MAX_TENURE = 40

# Layout of the small int64 state vector that survives between kernel chunks.
_S_ITER, _S_RNG, _S_BEST, _S_CUR, _S_STAG, _S_LB, _S_DONE, _S_RESTARTS = range(8)
_S_LEN = 8


@dataclass(frozen=True)
class JobShop:
    """Flat arrays for a classic job shop: operation `o` of job `job[o]` runs on `machine[o]` for `duration[o]`."""

    duration: np.ndarray
    machine: np.ndarray
    jpred: np.ndarray
    jsucc: np.ndarray
    job: np.ndarray
    index: np.ndarray
    """index[o] = the operation's position in its job."""
    num_machines: int
    lower_bound: int

    @property
    def num_operations(self) -> int:
        return int(self.duration.shape[0])


def jobshop_arrays(task: ScheduleTask) -> JobShop:
    """Flatten a classic task (raises ValueError for flexible tasks or availability windows)."""
    if not task.is_classic:
        raise ValueError(f"task {task.task_id} is not a classic job shop")
    dur, mach, jpred, jsucc, job, index = [], [], [], [], [], []
    for j, jb in enumerate(task.jobs):
        first = len(dur)
        count = len(jb.operations)
        for k, op in enumerate(jb.operations):
            alt = op.alternatives[0]
            dur.append(alt.duration)
            mach.append(alt.machine)
            jpred.append(first + k - 1 if k > 0 else -1)
            jsucc.append(first + k + 1 if k + 1 < count else -1)
            job.append(j)
            index.append(k)
    duration = np.asarray(dur, dtype=np.int64)
    machine = np.asarray(mach, dtype=np.int64)
    loads = np.bincount(machine, weights=duration, minlength=task.num_machines)
    job_len = max(sum(op.alternatives[0].duration for op in jb.operations) for jb in task.jobs)
    return JobShop(duration, machine, np.asarray(jpred, dtype=np.int64), np.asarray(jsucc, dtype=np.int64),
                   np.asarray(job, dtype=np.int64), np.asarray(index, dtype=np.int64), task.num_machines,
                   int(max(job_len, int(loads.max()))))


# ----------------------------------------------------------------------------------------------- kernels


@nb.njit(cache=True, nogil=True)
def _rand(state: np.ndarray, bound: int) -> int:
    """xorshift64* in state[_S_RNG]; a draw in [0, bound)."""
    x = np.uint64(state[_S_RNG])
    x ^= x >> np.uint64(12)
    x ^= x << np.uint64(25)
    x ^= x >> np.uint64(27)
    state[_S_RNG] = np.int64(x)
    r = (x * np.uint64(2685821657736338717)) >> np.uint64(33)
    return int(r % np.uint64(bound))


@nb.njit(cache=True, nogil=True)
def _evaluate(dur, jpred, jsucc, mpred, msucc, head, tail, order, indeg) -> int:
    """Heads, tails and the makespan of the selection; -1 when it has a cycle."""
    n = dur.shape[0]
    qt = 0
    for o in range(n):
        d = 0
        if jpred[o] >= 0:
            d += 1
        if mpred[o] >= 0:
            d += 1
        indeg[o] = d
        if d == 0:
            order[qt] = o
            qt += 1
    qh = 0
    while qh < qt:
        o = order[qh]
        qh += 1
        s = jsucc[o]
        if s >= 0:
            indeg[s] -= 1
            if indeg[s] == 0:
                order[qt] = s
                qt += 1
        s = msucc[o]
        if s >= 0:
            indeg[s] -= 1
            if indeg[s] == 0:
                order[qt] = s
                qt += 1
    if qt < n:
        return -1
    cmax = 0
    for i in range(n):
        o = order[i]
        h = 0
        p = jpred[o]
        if p >= 0:
            h = head[p] + dur[p]
        p = mpred[o]
        if p >= 0 and head[p] + dur[p] > h:
            h = head[p] + dur[p]
        head[o] = h
        if h + dur[o] > cmax:
            cmax = h + dur[o]
    for i in range(n - 1, -1, -1):
        o = order[i]
        t = 0
        s = jsucc[o]
        if s >= 0:
            t = tail[s] + dur[s]
        s = msucc[o]
        if s >= 0 and tail[s] + dur[s] > t:
            t = tail[s] + dur[s]
        tail[o] = t
    return cmax


@nb.njit(cache=True, nogil=True)
def _critical_path(dur, jpred, mpred, head, cmax, path, state) -> int:
    """One critical path (source to sink) into `path`; its length. Ties are broken at random."""
    n = dur.shape[0]
    # a random end operation among those finishing at cmax
    count = 0
    end = -1
    for o in range(n):
        if head[o] + dur[o] == cmax:
            count += 1
            if _rand(state, count) == 0:
                end = o
    length = 0
    o = end
    while o >= 0:
        path[length] = o
        length += 1
        h = head[o]
        if h == 0:
            break
        a = jpred[o]
        b = mpred[o]
        ok_a = a >= 0 and head[a] + dur[a] == h
        ok_b = b >= 0 and head[b] + dur[b] == h
        if ok_a and ok_b:
            o = b if _rand(state, 2) == 0 else a
        elif ok_b:
            o = b
        else:
            o = a
    # reverse to source -> sink order
    for i in range(length // 2):
        t = path[i]
        path[i] = path[length - 1 - i]
        path[length - 1 - i] = t
    return length


@nb.njit(cache=True, nogil=True)
def _ins_before(mpred, msucc, mfirst, mlast, machine, u, v) -> None:
    """Move `u` to just before `v` on their machine (u != v)."""
    m = machine[u]
    a = mpred[u]
    b = msucc[u]
    if a >= 0:
        msucc[a] = b
    else:
        mfirst[m] = b
    if b >= 0:
        mpred[b] = a
    else:
        mlast[m] = a
    c = mpred[v]
    mpred[u] = c
    msucc[u] = v
    mpred[v] = u
    if c >= 0:
        msucc[c] = u
    else:
        mfirst[m] = u


@nb.njit(cache=True, nogil=True)
def _ins_after(mpred, msucc, mfirst, mlast, machine, u, v) -> None:
    """Move `u` to just after `v` on their machine (u != v)."""
    m = machine[u]
    a = mpred[u]
    b = msucc[u]
    if a >= 0:
        msucc[a] = b
    else:
        mfirst[m] = b
    if b >= 0:
        mpred[b] = a
    else:
        mlast[m] = a
    c = msucc[v]
    msucc[u] = c
    mpred[u] = v
    msucc[v] = u
    if c >= 0:
        mpred[c] = u
    else:
        mlast[m] = u


@nb.njit(cache=True, nogil=True)
def _estimate(dur, jpred, jsucc, mpred, msucc, head, tail, seq, k) -> int:
    """Estimated makespan after re-sequencing the k consecutive machine operations in `seq` (new order).

    Heads are propagated forwards through the new order, tails backwards; each uses the job neighbours'
    current heads / tails (the Balas-Vazacopoulos estimate: exact for adjacent swaps unless a job neighbour
    is itself moved)."""
    # the machine predecessor of the segment / successor of the segment are unchanged operations
    est = 0
    h = 0
    # predecessor of the segment = the op before the segment in the old order; passed via mpred of the
    # earliest old op -> callers guarantee seq is a permutation of a contiguous old segment
    pre = -1
    suc = -1
    # find the contiguous old segment's outside neighbours: the segment ops are exactly seq[0..k)
    for i in range(k):
        o = seq[i]
        p = mpred[o]
        inside = False
        for t in range(k):
            if seq[t] == p:
                inside = True
                break
        if p >= 0 and not inside:
            pre = p
        elif p < 0:
            pre = -2 if pre == -1 else pre
        s = msucc[o]
        inside = False
        for t in range(k):
            if seq[t] == s:
                inside = True
                break
        if s >= 0 and not inside:
            suc = s
    heads = np.empty(k, dtype=np.int64)
    prev_end = 0
    if pre >= 0:
        prev_end = head[pre] + dur[pre]
    for i in range(k):
        o = seq[i]
        h = prev_end
        jp = jpred[o]
        if jp >= 0 and head[jp] + dur[jp] > h:
            h = head[jp] + dur[jp]
        heads[i] = h
        prev_end = h + dur[o]
    next_tail = 0
    if suc >= 0:
        next_tail = tail[suc] + dur[suc]
    for i in range(k - 1, -1, -1):
        o = seq[i]
        t = next_tail
        js = jsucc[o]
        if js >= 0 and tail[js] + dur[js] > t:
            t = tail[js] + dur[js]
        v = heads[i] + dur[o] + t
        if v > est:
            est = v
        next_tail = t + dur[o]
    return est


@nb.njit(cache=True, nogil=True)
def _is_tabu(tabu, state, a, b) -> bool:
    """True when the arc a -> b is tabu (it was reversed recently)."""
    i = (a * 1000003 + b * 7919) & (tabu.shape[0] - 1)
    return tabu[i, 2] > state[_S_ITER] and tabu[i, 0] == a and tabu[i, 1] == b


@nb.njit(cache=True, nogil=True)
def _push_tabu(tabu, state, a, b, tenure) -> None:
    """Forbid restoring the arc a -> b for `tenure` iterations."""
    i = (a * 1000003 + b * 7919) & (tabu.shape[0] - 1)
    tabu[i, 0] = a
    tabu[i, 1] = b
    tabu[i, 2] = state[_S_ITER] + tenure


@nb.njit(cache=True, nogil=True)
def _path_exists(jsucc, msucc, head, dur, src, dst, stack, seen, stamp) -> bool:
    """Is there a path src -> ... -> dst through job or machine arcs (pruned by heads)?"""
    if src == dst:
        return True
    limit = head[dst]
    top = 0
    stack[top] = src
    top += 1
    seen[src] = stamp
    while top > 0:
        top -= 1
        o = stack[top]
        for s in (jsucc[o], msucc[o]):
            if s < 0 or seen[s] == stamp:
                continue
            if s == dst:
                return True
            if head[s] < limit:
                seen[s] = stamp
                stack[top] = s
                top += 1
    return False


@nb.njit(cache=True, nogil=True)
def _copy_solution(src_p, src_s, src_f, src_l, dst_p, dst_s, dst_f, dst_l) -> None:
    dst_p[:] = src_p
    dst_s[:] = src_s
    dst_f[:] = src_f
    dst_l[:] = src_l


@nb.njit(cache=True, nogil=True)
def _tabu_chunk(dur, machine, jpred, jsucc,
                mpred, msucc, mfirst, mlast,
                best_p, best_s, best_f, best_l,
                elite_p, elite_s, elite_f, elite_l, elite_c,
                tabu, state, params, max_iters):
    """Run up to `max_iters` tabu iterations on the current solution (mpred/msucc/mfirst/mlast), updating
    the best (best_*), the elite pool and `state`. Returns the best makespan."""
    n = dur.shape[0]
    head = np.empty(n, dtype=np.int64)
    tail = np.empty(n, dtype=np.int64)
    order = np.empty(n, dtype=np.int64)
    indeg = np.empty(n, dtype=np.int64)
    path = np.empty(n, dtype=np.int64)
    stack = np.empty(n, dtype=np.int64)
    seen = np.zeros(n, dtype=np.int64)
    stamp = 0
    blk_s = np.empty(n, dtype=np.int64)
    blk_e = np.empty(n, dtype=np.int64)
    # candidate moves: kind (0 = before, 1 = after), u, v, estimate
    cand_kind = np.empty(4 * n + 8, dtype=np.int64)
    cand_u = np.empty(4 * n + 8, dtype=np.int64)
    cand_v = np.empty(4 * n + 8, dtype=np.int64)
    seq = np.empty(n, dtype=np.int64)
    tenure_min = params[0]
    tenure_max = params[1]
    stag_limit = params[2]
    perturb = params[3]
    n_elites = elite_p.shape[0]

    cmax = _evaluate(dur, jpred, jsucc, mpred, msucc, head, tail, order, indeg)
    if state[_S_BEST] <= 0 or cmax < state[_S_BEST]:
        state[_S_BEST] = cmax
        _copy_solution(mpred, msucc, mfirst, mlast, best_p, best_s, best_f, best_l)
    state[_S_CUR] = cmax
    lb = state[_S_LB]
    for _ in range(max_iters):
        if state[_S_BEST] <= lb:
            state[_S_DONE] = 1
            break
        state[_S_ITER] += 1
        plen = _critical_path(dur, jpred, mpred, head, cmax, path, state)
        # blocks along the path
        nb_ = 0
        i = 0
        while i < plen:
            j = i
            while j + 1 < plen and mpred[path[j + 1]] == path[j]:
                j += 1
            blk_s[nb_] = i
            blk_e[nb_] = j
            nb_ += 1
            i = j + 1
        nc = 0
        for b in range(nb_):
            s = blk_s[b]
            e = blk_e[b]
            if e == s:
                continue
            first_block = b == 0
            last_block = b == nb_ - 1
            # N5 swaps
            if not first_block:
                cand_kind[nc] = 0
                cand_u[nc] = path[s + 1]
                cand_v[nc] = path[s]
                nc += 1
            if not last_block and (e - 1 != s or first_block):
                cand_kind[nc] = 1
                cand_u[nc] = path[e - 1]
                cand_v[nc] = path[e]
                nc += 1
            if e - s >= 2:
                # N7: inner operations to the front / back of the block
                for t in range(s + 1, e):
                    if not first_block or t > s + 1:
                        cand_kind[nc] = 0
                        cand_u[nc] = path[t]
                        cand_v[nc] = path[s]
                        nc += 1
                    if not last_block or t < e - 1:
                        cand_kind[nc] = 1
                        cand_u[nc] = path[t]
                        cand_v[nc] = path[e]
                        nc += 1
                # the first / last operation into the block's interior
                for t in range(s + 2, e if not first_block else s + 2):
                    cand_kind[nc] = 1
                    cand_u[nc] = path[s]
                    cand_v[nc] = path[t]
                    nc += 1
                for t in range(s + 1, e - 1 if not last_block else s + 1):
                    cand_kind[nc] = 0
                    cand_u[nc] = path[e]
                    cand_v[nc] = path[t]
                    nc += 1
        if nc == 0:
            # a single block covers the whole path: the makespan equals a machine's load (optimal)
            state[_S_DONE] = 1
            break
        best_est = -1
        best_c = -1
        tabu_best_est = -1
        tabu_best_c = -1
        ties = 0
        for c in range(nc):
            kind = cand_kind[c]
            u = cand_u[c]
            v = cand_v[c]
            # the affected segment in the new order and the arcs that get reversed
            k = 0
            if kind == 0:
                # u moves before v: old segment v .. pred(u), u ; new: u, v .. pred(u)
                seq[0] = u
                k = 1
                w = v
                while w != u:
                    seq[k] = w
                    k += 1
                    w = msucc[w]
                # feasibility: no path from jsucc? moving u earlier past x creates x... u -> x arcs;
                # a cycle needs a path x -> u other than through the machine, i.e. via u's job predecessor
                jp = jpred[u]
                feasible = jp != v  # an adjacent swap is feasible unless the two are consecutive in a job
                if feasible and k > 2 and jp >= 0:
                    # the earliest moved-past operation is v: a path v -> jp would close a cycle
                    stamp += 1
                    if _path_exists(jsucc, msucc, head, dur, v, jp, stack, seen, stamp):
                        feasible = False
                if not feasible:
                    continue
            else:
                # u moves after v: old segment u, succ(u) .. v ; new: succ(u) .. v, u
                k = 0
                w = msucc[u]
                while w != v:
                    seq[k] = w
                    k += 1
                    w = msucc[w]
                seq[k] = v
                k += 1
                seq[k] = u
                k += 1
                js = jsucc[u]
                feasible = js != v
                if feasible and k > 2 and js >= 0:
                    stamp += 1
                    if _path_exists(jsucc, msucc, head, dur, js, v, stack, seen, stamp):
                        feasible = False
                if not feasible:
                    continue
            est = _estimate(dur, jpred, jsucc, mpred, msucc, head, tail, seq, k)
            # tabu test: the move creates arcs u->x (kind 0) or x->u (kind 1); restoring a reversed arc is tabu
            tabu_hit = False
            if kind == 0:
                for t in range(1, k):
                    if _is_tabu(tabu, state, u, seq[t]):
                        tabu_hit = True
                        break
            else:
                for t in range(0, k - 1):
                    if _is_tabu(tabu, state, seq[t], u):
                        tabu_hit = True
                        break
            if tabu_hit and est >= state[_S_BEST]:
                if tabu_best_c < 0 or est < tabu_best_est:
                    tabu_best_est = est
                    tabu_best_c = c
                continue
            if best_c < 0 or est < best_est:
                best_est = est
                best_c = c
                ties = 1
            elif est == best_est:
                ties += 1
                if _rand(state, ties) == 0:
                    best_c = c
        if best_c < 0:
            best_c = tabu_best_c
        if best_c < 0:
            # every move creates a cycle (cannot happen for N5 swaps); restart from the best
            _copy_solution(best_p, best_s, best_f, best_l, mpred, msucc, mfirst, mlast)
            cmax = _evaluate(dur, jpred, jsucc, mpred, msucc, head, tail, order, indeg)
            continue
        kind = cand_kind[best_c]
        u = cand_u[best_c]
        v = cand_v[best_c]
        tenure = tenure_min + _rand(state, tenure_max - tenure_min + 1)
        # record the arcs that get reversed: kind 0: x -> u for x in v..pred(u); kind 1: u -> x
        if kind == 0:
            w = v
            while w != u:
                _push_tabu(tabu, state, w, u, tenure)
                w = msucc[w]
            _ins_before(mpred, msucc, mfirst, mlast, machine, u, v)
        else:
            w = msucc[u]
            while True:
                _push_tabu(tabu, state, u, w, tenure)
                if w == v:
                    break
                w = msucc[w]
            _ins_after(mpred, msucc, mfirst, mlast, machine, u, v)
        new_c = _evaluate(dur, jpred, jsucc, mpred, msucc, head, tail, order, indeg)
        if new_c < 0:
            # the move closed a cycle (the path test is heuristic-pruned): undo by restoring the best
            _copy_solution(best_p, best_s, best_f, best_l, mpred, msucc, mfirst, mlast)
            new_c = _evaluate(dur, jpred, jsucc, mpred, msucc, head, tail, order, indeg)
        cmax = new_c
        state[_S_CUR] = cmax
        if cmax < state[_S_BEST]:
            state[_S_BEST] = cmax
            state[_S_STAG] = 0
            _copy_solution(mpred, msucc, mfirst, mlast, best_p, best_s, best_f, best_l)
            # keep it in the elite pool (ring, replacing the worst)
            worst = 0
            for e in range(n_elites):
                if elite_c[e] <= 0:
                    worst = e
                    break
                if elite_c[e] > elite_c[worst]:
                    worst = e
            elite_c[worst] = cmax
            _copy_solution(mpred, msucc, mfirst, mlast, elite_p[worst], elite_s[worst], elite_f[worst],
                           elite_l[worst])
        else:
            state[_S_STAG] += 1
        if state[_S_STAG] >= stag_limit:
            # back-jump: an elite solution (the best half of the time), perturbed by random critical swaps
            state[_S_STAG] = 0
            state[_S_RESTARTS] += 1
            filled = 0
            for e in range(n_elites):
                if elite_c[e] > 0:
                    filled += 1
            if filled == 0 or _rand(state, 2) == 0:
                _copy_solution(best_p, best_s, best_f, best_l, mpred, msucc, mfirst, mlast)
            else:
                pick = _rand(state, filled)
                for e in range(n_elites):
                    if elite_c[e] > 0:
                        if pick == 0:
                            _copy_solution(elite_p[e], elite_s[e], elite_f[e], elite_l[e], mpred, msucc, mfirst,
                                           mlast)
                            break
                        pick -= 1
            cmax = _evaluate(dur, jpred, jsucc, mpred, msucc, head, tail, order, indeg)
            for _k in range(perturb):
                plen = _critical_path(dur, jpred, mpred, head, cmax, path, state)
                # random adjacent critical pair on one machine (always feasible)
                cnt = 0
                pick_i = -1
                for t in range(plen - 1):
                    if mpred[path[t + 1]] == path[t] and jpred[path[t + 1]] != path[t]:
                        cnt += 1
                        if _rand(state, cnt) == 0:
                            pick_i = t
                if pick_i < 0:
                    break
                _ins_before(mpred, msucc, mfirst, mlast, machine, path[pick_i + 1], path[pick_i])
                cmax = _evaluate(dur, jpred, jsucc, mpred, msucc, head, tail, order, indeg)
            for t in range(tabu.shape[0]):
                tabu[t, 2] = 0
            state[_S_CUR] = cmax
    return state[_S_BEST]


@nb.njit(cache=True, nogil=True)
def _schedule_heads(dur, jpred, jsucc, mpred, msucc) -> np.ndarray:
    n = dur.shape[0]
    head = np.empty(n, dtype=np.int64)
    tail = np.empty(n, dtype=np.int64)
    order = np.empty(n, dtype=np.int64)
    indeg = np.empty(n, dtype=np.int64)
    if _evaluate(dur, jpred, jsucc, mpred, msucc, head, tail, order, indeg) < 0:
        head[:] = -1
    return head


@nb.njit(cache=True, nogil=True)
def _giffler_thompson(dur, machine, jpred, jsucc, n_machines, priority, noise, state):
    """An active schedule (Giffler-Thompson), choosing among conflicting operations by `priority` (higher
    first) with random noise of amplitude `noise`; returns the operations in machine order per machine as
    (mpred, msucc, mfirst, mlast)."""
    n = dur.shape[0]
    mpred = np.full(n, -1, dtype=np.int64)
    msucc = np.full(n, -1, dtype=np.int64)
    mfirst = np.full(n_machines, -1, dtype=np.int64)
    mlast = np.full(n_machines, -1, dtype=np.int64)
    mfree = np.zeros(n_machines, dtype=np.int64)
    ready = np.zeros(n, dtype=np.int64)
    avail = np.zeros(n, dtype=np.bool_)
    for o in range(n):
        if jpred[o] < 0:
            avail[o] = True
    for _ in range(n):
        # the available operation with the earliest completion
        best_end = -1
        best_o = -1
        for o in range(n):
            if avail[o]:
                st = max(ready[o], mfree[machine[o]])
                if best_o < 0 or st + dur[o] < best_end:
                    best_end = st + dur[o]
                    best_o = o
        m = machine[best_o]
        # conflict set: available ops on m that can start before best_end; pick by priority
        chosen = -1
        chosen_p = 0.0
        for o in range(n):
            if avail[o] and machine[o] == m and max(ready[o], mfree[m]) < best_end:
                pr = priority[o]
                if noise > 0:
                    pr += noise * (_rand(state, 1 << 20) / float(1 << 20))
                if chosen < 0 or pr > chosen_p:
                    chosen = o
                    chosen_p = pr
        st = max(ready[chosen], mfree[m])
        mfree[m] = st + dur[chosen]
        avail[chosen] = False
        s = jsucc[chosen]
        if s >= 0:
            avail[s] = True
            ready[s] = st + dur[chosen]
        last = mlast[m]
        if last < 0:
            mfirst[m] = chosen
        else:
            msucc[last] = chosen
            mpred[chosen] = last
        mlast[m] = chosen
    return mpred, msucc, mfirst, mlast


# ----------------------------------------------------------------------------------------------- driver


def _new_state(seed: int, lb: int) -> np.ndarray:
    state = np.zeros(_S_LEN, dtype=np.int64)
    state[_S_RNG] = (seed * 0x9E3779B97F4A7C15 + 0x1234567) % (2**63 - 1) or 1
    state[_S_LB] = lb
    return state


def _params(shop: JobShop) -> np.ndarray:
    n_jobs = int(shop.job.max()) + 1 if shop.num_operations else 1
    base = 10 + n_jobs // max(1, shop.num_machines)
    tmin = min(MAX_TENURE, base)
    tmax = min(MAX_TENURE, int(base * 1.4) + 1)
    stag = max(1000, 10 * shop.num_operations)  # back-jump after this many non-improving iterations
    perturb = 6  # random critical swaps after a back-jump (both tuned on random 15x15 Taillard-type shops)
    return np.asarray([max(1, tmin), max(tmin, tmax), stag, perturb], dtype=np.int64)


def _order_from_answer(shop: JobShop, answer: ScheduleAnswer) -> tuple[np.ndarray, ...]:
    """Machine linked lists from a feasible answer (operations on each machine sorted by start)."""
    n = shop.num_operations
    first_of_job: dict[int, int] = {}
    for o in range(n):
        first_of_job.setdefault(int(shop.job[o]), o)
    start = np.zeros(n, dtype=np.int64)
    for e in answer.operations:
        start[first_of_job[e.job] + e.op] = e.start
    return _order_from_starts(shop, start)


def _order_from_starts(shop: JobShop, start: np.ndarray) -> tuple[np.ndarray, ...]:
    n = shop.num_operations
    mpred = np.full(n, -1, dtype=np.int64)
    msucc = np.full(n, -1, dtype=np.int64)
    mfirst = np.full(shop.num_machines, -1, dtype=np.int64)
    mlast = np.full(shop.num_machines, -1, dtype=np.int64)
    keys = np.lexsort((shop.index, start, shop.machine))
    prev = -1
    for o in keys:
        o = int(o)
        m = int(shop.machine[o])
        if prev >= 0 and shop.machine[prev] == m:
            msucc[prev] = o
            mpred[o] = prev
        else:
            mfirst[m] = o
        mlast[m] = o
        prev = o
    return mpred, msucc, mfirst, mlast


def answer_from_order(shop: JobShop, mpred: np.ndarray, msucc: np.ndarray) -> ScheduleAnswer:
    """The semi-active schedule of a machine order (raises ValueError if it has a cycle)."""
    head = _schedule_heads(shop.duration, shop.jpred, shop.jsucc, mpred, msucc)
    if shop.num_operations and head[0] < 0:
        raise ValueError("the machine orders contain a cycle")
    ops = tuple(
        ScheduledOperation(job=int(shop.job[o]), op=int(shop.index[o]), machine=int(shop.machine[o]),
                           start=int(head[o]))
        for o in range(shop.num_operations)
    )
    makespan = int((head + shop.duration).max()) if shop.num_operations else 0
    return ScheduleAnswer(operations=ops, makespan=makespan)


@dataclass(frozen=True)
class TabuResult:
    answer: ScheduleAnswer
    makespan: int
    iterations: int
    restarts: int
    proven_optimal: bool
    """True when the makespan meets the trivial lower bound (or a single critical block)."""


GT_MAX_OPERATIONS = 5000
"""Above this size the O(n^2) Giffler-Thompson start is skipped: every thread starts from `start`."""


def _initial(shop: JobShop, seed: int, start: ScheduleAnswer | None) -> tuple[np.ndarray, ...]:
    if start is not None:
        return _order_from_answer(shop, start)
    if shop.num_operations > GT_MAX_OPERATIONS:
        # operations by their position in the job: a topological order of the job arcs, hence acyclic
        return _order_from_starts(shop, shop.index.copy())
    # Giffler-Thompson with most-work-remaining priority, noise for seeds > 0
    remaining = np.zeros(shop.num_operations, dtype=np.float64)
    for o in range(shop.num_operations - 1, -1, -1):
        s = shop.jsucc[o]
        remaining[o] = shop.duration[o] + (remaining[s] if s >= 0 else 0.0)
    noise = 0.0 if seed == 0 else float(shop.duration.mean()) * 2.0
    return _giffler_thompson(shop.duration, shop.machine, shop.jpred, shop.jsucc, shop.num_machines,
                             remaining, noise, _new_state(seed + 7, 0))


def tabu_search(
    shop: JobShop,
    time_limit_s: float,
    *,
    threads: int = 1,
    seed: int = 0,
    start: ScheduleAnswer | None = None,
    max_iterations: int | None = None,
    chunk: int | None = None,
) -> TabuResult:
    """Run `threads` independent tabu searches for up to `time_limit_s` seconds (or `max_iterations` each).

    Thread 0 starts from `start` when given (else a Giffler-Thompson MWKR schedule), the others from noisy
    Giffler-Thompson schedules; the best is returned (never worse than `start`)."""
    deadline = time.perf_counter() + time_limit_s
    n = shop.num_operations
    threads = max(1, threads)
    results: list[tuple[int, np.ndarray, np.ndarray, int, int, bool]] = [None] * threads  # type: ignore[list-item]
    params = _params(shop)
    n_elites = 8
    if chunk is None:  # about 10-20 ms of work between deadline checks
        chunk = max(1, min(2000, 1_000_000 // max(1, n)))

    def run(t: int) -> None:
        use_start = start if t == 0 or n > GT_MAX_OPERATIONS else None
        mpred, msucc, mfirst, mlast = _initial(shop, seed * 1000 + t, use_start)
        best = [a.copy() for a in (mpred, msucc, mfirst, mlast)]
        elites = [np.zeros((n_elites,) + a.shape, dtype=np.int64) for a in (mpred, msucc, mfirst, mlast)]
        elite_c = np.zeros(n_elites, dtype=np.int64)
        tabu = np.zeros((TABU_SLOTS, 3), dtype=np.int64)
        state = _new_state(seed * 7919 + t + 1, shop.lower_bound)
        done_iters = 0
        while True:
            todo = chunk if max_iterations is None else min(chunk, max_iterations - done_iters)
            if todo <= 0:
                break
            _tabu_chunk(shop.duration, shop.machine, shop.jpred, shop.jsucc,
                        mpred, msucc, mfirst, mlast, *best, *elites, elite_c, tabu, state, params, todo)
            done_iters += todo
            if state[_S_DONE] or time.perf_counter() >= deadline:
                break
        results[t] = (int(state[_S_BEST]), best[0], best[1], int(state[_S_ITER]), int(state[_S_RESTARTS]),
                      bool(state[_S_DONE]))

    if n == 0:
        raise ValueError("empty job shop")
    if threads == 1:
        run(0)
    else:
        workers = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    best_t = min(range(threads), key=lambda t: (results[t][0], t))
    cmax, mpred, msucc, _, _, done = results[best_t]
    answer = answer_from_order(shop, mpred, msucc)
    return TabuResult(answer, answer.makespan, sum(r[3] for r in results), sum(r[4] for r in results),
                      done or answer.makespan <= shop.lower_bound)


@dataclass(frozen=True)
class WarmUp:
    """What `warm_up` did: kernels compiled now, kernels loaded from the cache, and the cache folder."""

    compiled: int
    loaded: int
    cache_path: str | None


def _entry_kernels() -> tuple:
    """The kernels called from Python (their callees are compiled into them)."""
    return (_tabu_chunk, _schedule_heads, _giffler_thompson)


def _run_tiny() -> None:
    shop = JobShop(np.asarray([3, 2, 2, 4], dtype=np.int64), np.asarray([0, 1, 1, 0], dtype=np.int64),
                   np.asarray([-1, 0, -1, 2], dtype=np.int64), np.asarray([1, -1, 3, -1], dtype=np.int64),
                   np.asarray([0, 0, 1, 1], dtype=np.int64), np.asarray([0, 1, 0, 1], dtype=np.int64), 2, 1)
    tabu_search(shop, 60.0, max_iterations=10)


def _cache_files() -> list[str]:
    """This module's cache files (indexes `.nbi`, compiled code `.nbc`) in the folders its kernels use."""
    stem = os.path.splitext(os.path.basename(__file__))[0] + "."
    found = []
    for folder in {k.stats.cache_path for k in _entry_kernels() if k.stats.cache_path}:
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        found += [os.path.join(folder, n) for n in names if n.startswith(stem) and n.endswith((".nbi", ".nbc"))]
    return found


def _index_readable(path: str) -> bool:
    """Whether a numba index file unpickles (a numba version header, then the source stamp and overloads)."""
    try:
        with open(path, "rb") as f:
            pickle.load(f)
            pickle.loads(f.read())
    except Exception:  # noqa: BLE001 - any failure means numba would fail on it too
        return False
    return True


def _remove(paths: list[str]) -> bool:
    removed = False
    for path in paths:
        try:
            os.remove(path)
            removed = True
        except OSError:
            pass
    return removed


def warm_up() -> WarmUp:
    """Compile the kernels (or load them from the cache) on a tiny instance.

    numba itself recompiles over a cache written by another numba version, for another CPU or from an older source
    (its index records all three); a damaged cache file makes it raise instead, so the unreadable index files are
    deleted and those kernels compiled afresh, and failing that, all of this module's cache files."""
    try:
        _run_tiny()
        return _warm_up_report()
    except Exception:
        files = _cache_files()
        if not _remove([f for f in files if f.endswith(".nbi") and not _index_readable(f)]) and not _remove(files):
            raise
    try:
        _run_tiny()
    except Exception:
        if not _remove(_cache_files()):
            raise
        _run_tiny()
    return _warm_up_report()


def _warm_up_report() -> WarmUp:
    kernels = _entry_kernels()
    return WarmUp(compiled=sum(sum(k.stats.cache_misses.values()) for k in kernels),
                  loaded=sum(sum(k.stats.cache_hits.values()) for k in kernels),
                  cache_path=kernels[0].stats.cache_path)


__all__ = ["JobShop", "TabuResult", "WarmUp", "answer_from_order", "jobshop_arrays", "tabu_search", "warm_up"]
