"""The numba kernels of the job-shop tabu search (`jobshop_tabu` drives them); compiled once into numba's cache.

A solution is a processing order per machine, as linked lists (mpred, msucc, mfirst, mlast); its semi-active
schedule starts every operation at its head (longest path from the source). One tabu iteration:

1. compute heads and tails with Kahn's topological order over job and machine arcs (-1: the orders have a cycle);
   after a move of u next to v the order stays topological with u moved beside v whenever u's job predecessor
   (moving u before v) lies before v, or its job successor (moving u after v) after v, and then only the heads
   after, and the tails before, the moved span are recomputed;
2. take one critical path and split it into blocks (maximal runs of consecutive operations on one machine);
3. evaluate the N5 neighbourhood (Nowicki & Smutnicki 1996: swap the first two and the last two operations of
   each block, except the head of the first block and the tail of the last) plus the N7 extension (Zhang et
   al. 2007: move an inner block operation to the block's first or last position, or the first / last one
   inside the block) with the Balas-Vazacopoulos style head/tail estimate of the new makespan;
4. apply the best non-tabu move (aspiration: a tabu move that beats the best makespan is allowed), after an exact
   cycle test (a depth-first search pruned by heads) for that move only: an N5 swap of a critical pair is feasible
   unless the two operations are consecutive in one job, an N7 insertion only when no job path leads back. The
   topological pass re-checks every applied move (a cyclic one sends the search back to its best solution), so the
   machine orders always describe a feasible schedule. The tabu list holds the reversed arcs with a random tenure.

A run stagnates after `stag` iterations without improving its best; it then jumps back to an elite solution of
the run, perturbed by a few random critical swaps (i-TSAB style), or, after `jumps` back-jumps, ends. Between runs
the driver relinks two elite solutions (`_relink`: path relinking, Peng, Lu & Cheng 2015) for the next start.
"""
from __future__ import annotations

import numpy as np

from .jit_cache import configure_cache

configure_cache()

import numba as nb  # noqa: E402  (numba reads the cache folder when it is imported)

TABU_SLOTS = 1 << 14
"""Size of the hashed tabu table (a colliding entry overwrites an older one: a slightly shorter memory)."""

# Layout of the small int64 state vector that survives between kernel chunks.
_S_ITER, _S_RNG, _S_BEST, _S_CUR, _S_STAG, _S_LB, _S_DONE, _S_RESTARTS, _S_END, _S_JUMPS = range(10)
_S_LEN = 10


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
    """Heads, tails and the makespan of the selection; -1 when it has a cycle.

    Kahn's algorithm over job and machine arcs: an operation's head is final when it leaves the queue (all its
    predecessors have), so heads are computed in the same pass; tails in reverse topological order."""
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
            head[o] = 0
    qh = 0
    cmax = 0
    while qh < qt:
        o = order[qh]
        qh += 1
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
def _evaluate_ordered(dur, jpred, jsucc, mpred, msucc, head, tail, order, indeg, opos) -> int:
    """`_evaluate`, and opos[o] = the position of o in the topological order."""
    cmax = _evaluate(dur, jpred, jsucc, mpred, msucc, head, tail, order, indeg)
    if cmax >= 0:
        for i in range(dur.shape[0]):
            opos[order[i]] = i
    return cmax


@nb.njit(cache=True, nogil=True)
def _move_in_order(order, opos, frm, to) -> None:
    """Move the operation at position `frm` of the topological order to position `to`, shifting those between."""
    o = order[frm]
    if frm > to:
        for i in range(frm, to, -1):
            order[i] = order[i - 1]
            opos[order[i]] = i
    else:
        for i in range(frm, to):
            order[i] = order[i + 1]
            opos[order[i]] = i
    order[to] = o
    opos[o] = to


@nb.njit(cache=True, nogil=True)
def _repropagate(dur, jpred, jsucc, mpred, msucc, head, tail, order, lo, hi) -> int:
    """Heads from position `lo` of the (still topological) order onwards, tails from position `hi` down; the
    makespan. Only operations in those ranges can have changed after a move whose operations lie in [lo, hi]."""
    n = dur.shape[0]
    for i in range(lo, n):
        o = order[i]
        h = 0
        p = jpred[o]
        if p >= 0:
            h = head[p] + dur[p]
        p = mpred[o]
        if p >= 0 and head[p] + dur[p] > h:
            h = head[p] + dur[p]
        head[o] = h
    for i in range(hi, -1, -1):
        o = order[i]
        t = 0
        s = jsucc[o]
        if s >= 0:
            t = tail[s] + dur[s]
        s = msucc[o]
        if s >= 0 and tail[s] + dur[s] > t:
            t = tail[s] + dur[s]
        tail[o] = t
    cmax = 0
    for o in range(n):
        if head[o] + dur[o] > cmax:
            cmax = head[o] + dur[o]
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
def _unlink(mpred, msucc, mfirst, mlast, m, u) -> None:
    """Take `u` out of machine `m`'s sequence, joining its neighbours."""
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


@nb.njit(cache=True, nogil=True)
def _ins_before(mpred, msucc, mfirst, mlast, machine, u, v) -> None:
    """Move `u` to just before `v` on their machine (u != v)."""
    m = machine[u]
    _unlink(mpred, msucc, mfirst, mlast, m, u)
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
    _unlink(mpred, msucc, mfirst, mlast, m, u)
    c = msucc[v]
    msucc[u] = c
    mpred[u] = v
    msucc[v] = u
    if c >= 0:
        mpred[c] = u
    else:
        mlast[m] = u


@nb.njit(cache=True, nogil=True)
def _estimate(dur, jpred, jsucc, head, tail, seq, k, pre, suc, heads) -> int:
    """Estimated makespan after re-sequencing k consecutive machine operations into the order `seq`, between the
    unchanged machine neighbours `pre` and `suc` (-1: none).

    Heads are propagated forwards through the new order, tails backwards; each uses the job neighbours'
    current heads / tails (the Balas-Vazacopoulos estimate: exact for adjacent swaps unless a job neighbour
    is itself moved). `heads` is scratch space of at least k entries."""
    est = 0
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
    """Copy one solution's machine lists into another's arrays."""
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
    the run's best (best_*), its elite pool and `state`; stop early when the run ends (state[_S_END]: it
    stagnated after `params[4]` back-jumps) or meets the lower bound (state[_S_DONE]). Returns the best makespan.

    params: tenure range [params[0], params[1]], iterations without improvement before a back-jump or the end of
    the run (params[2]), random critical swaps after a back-jump (params[3]), back-jumps per run (params[4])."""
    n = dur.shape[0]
    head = np.empty(n, dtype=np.int64)
    tail = np.empty(n, dtype=np.int64)
    order = np.empty(n, dtype=np.int64)
    indeg = np.empty(n, dtype=np.int64)
    opos = np.empty(n, dtype=np.int64)
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
    hbuf = np.empty(n, dtype=np.int64)
    cand_est = np.empty(4 * n + 8, dtype=np.int64)
    cand_stat = np.empty(4 * n + 8, dtype=np.int64)
    tenure_min = params[0]
    tenure_max = params[1]
    stag_limit = params[2]
    perturb = params[3]
    jumps_per_run = params[4]
    n_elites = elite_p.shape[0]

    cmax = _evaluate_ordered(dur, jpred, jsucc, mpred, msucc, head, tail, order, indeg, opos)
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
        # estimate every candidate; the exact (costlier) cycle test only for the one about to be applied
        for c in range(nc):
            kind = cand_kind[c]
            u = cand_u[c]
            v = cand_v[c]
            # the affected segment in the new order and the arcs that get reversed
            k = 0
            if kind == 0:
                # u moves before v: old segment v .. pred(u), u ; new: u, v .. pred(u)
                if jpred[u] == v:  # consecutive in a job: the swap would close a cycle
                    cand_stat[c] = -1
                    continue
                seq[0] = u
                k = 1
                w = v
                while w != u:
                    seq[k] = w
                    k += 1
                    w = msucc[w]
                est = _estimate(dur, jpred, jsucc, head, tail, seq, k, mpred[v], msucc[u], hbuf)
            else:
                # u moves after v: old segment u, succ(u) .. v ; new: succ(u) .. v, u
                if jsucc[u] == v:
                    cand_stat[c] = -1
                    continue
                w = msucc[u]
                while w != v:
                    seq[k] = w
                    k += 1
                    w = msucc[w]
                seq[k] = v
                k += 1
                seq[k] = u
                k += 1
                est = _estimate(dur, jpred, jsucc, head, tail, seq, k, mpred[u], msucc[v], hbuf)
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
            cand_est[c] = est
            cand_stat[c] = 1 if tabu_hit and est >= state[_S_BEST] else 0  # aspiration: a new best is allowed
        while True:
            best_est = -1
            best_c = -1
            tabu_best_est = -1
            tabu_best_c = -1
            ties = 0
            for c in range(nc):
                st = cand_stat[c]
                if st < 0:
                    continue
                est = cand_est[c]
                if st == 1:
                    if tabu_best_c < 0 or est < tabu_best_est:
                        tabu_best_est = est
                        tabu_best_c = c
                elif best_c < 0 or est < best_est:
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
                break
            # an insertion past other operations closes a cycle when a job path leads back: check it exactly
            u = cand_u[best_c]
            v = cand_v[best_c]
            feasible = True
            if cand_kind[best_c] == 0:
                jp = jpred[u]
                if jp >= 0 and msucc[v] != u:
                    stamp += 1
                    feasible = not _path_exists(jsucc, msucc, head, dur, v, jp, stack, seen, stamp)
            else:
                js = jsucc[u]
                if js >= 0 and msucc[u] != v:
                    stamp += 1
                    feasible = not _path_exists(jsucc, msucc, head, dur, js, v, stack, seen, stamp)
            if feasible:
                break
            cand_stat[best_c] = -1
        if best_c < 0:
            # every move creates a cycle (cannot happen for N5 swaps); restart from the best
            _copy_solution(best_p, best_s, best_f, best_l, mpred, msucc, mfirst, mlast)
            cmax = _evaluate_ordered(dur, jpred, jsucc, mpred, msucc, head, tail, order, indeg, opos)
            continue
        kind = cand_kind[best_c]
        u = cand_u[best_c]
        v = cand_v[best_c]
        tenure = tenure_min + _rand(state, tenure_max - tenure_min + 1)
        # record the arcs that get reversed: kind 0: x -> u for x in v..pred(u); kind 1: u -> x
        # The topological order stays valid with u moved next to v when u's job neighbour is on the right side
        # of v (then no arc points backwards: see the module notes); heads and tails are then recomputed only
        # where they can change. Otherwise a full pass (which also detects a cycle).
        if kind == 0:
            w = v
            while w != u:
                _push_tabu(tabu, state, w, u, tenure)
                w = msucc[w]
            _ins_before(mpred, msucc, mfirst, mlast, machine, u, v)
            lo = opos[v]
            hi = opos[u]
            local = jpred[u] < 0 or opos[jpred[u]] < lo
            if local:
                _move_in_order(order, opos, hi, lo)
        else:
            w = msucc[u]
            while True:
                _push_tabu(tabu, state, u, w, tenure)
                if w == v:
                    break
                w = msucc[w]
            _ins_after(mpred, msucc, mfirst, mlast, machine, u, v)
            lo = opos[u]
            hi = opos[v]
            local = jsucc[u] < 0 or opos[jsucc[u]] > hi
            if local:
                _move_in_order(order, opos, lo, hi)
        if local:
            new_c = _repropagate(dur, jpred, jsucc, mpred, msucc, head, tail, order, lo, hi)
        else:
            new_c = _evaluate_ordered(dur, jpred, jsucc, mpred, msucc, head, tail, order, indeg, opos)
        if new_c < 0:
            # the move closed a cycle (the path test is heuristic-pruned): undo by restoring the best
            _copy_solution(best_p, best_s, best_f, best_l, mpred, msucc, mfirst, mlast)
            new_c = _evaluate_ordered(dur, jpred, jsucc, mpred, msucc, head, tail, order, indeg, opos)
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
            if state[_S_JUMPS] >= jumps_per_run:
                state[_S_END] = 1  # the run is over: the driver relinks elite solutions for the next start
                break
            state[_S_JUMPS] += 1
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
            cmax = _evaluate_ordered(dur, jpred, jsucc, mpred, msucc, head, tail, order, indeg, opos)
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
                cmax = _evaluate_ordered(dur, jpred, jsucc, mpred, msucc, head, tail, order, indeg, opos)
            for t in range(tabu.shape[0]):
                tabu[t, 2] = 0
            state[_S_CUR] = cmax
    return state[_S_BEST]


@nb.njit(cache=True, nogil=True)
def _positions(mfirst, msucc, pos) -> None:
    """pos[o] = the position of o in its machine's sequence."""
    for m in range(mfirst.shape[0]):
        o = mfirst[m]
        k = 0
        while o >= 0:
            pos[o] = k
            k += 1
            o = msucc[o]


@nb.njit(cache=True, nogil=True)
def _distance(mfirst, msucc, pos_b, buf) -> int:
    """Pairs of operations on one machine that the solution (mfirst, msucc) orders unlike the one with positions
    pos_b."""
    d = 0
    for m in range(mfirst.shape[0]):
        k = 0
        o = mfirst[m]
        while o >= 0:
            buf[k] = pos_b[o]
            k += 1
            o = msucc[o]
        for i in range(k):
            for j in range(i + 1, k):
                if buf[i] > buf[j]:
                    d += 1
    return d


@nb.njit(cache=True, nogil=True)
def _relink(dur, machine, jpred, jsucc, mpred, msucc, mfirst, mlast, pos_b, lo, hi,
            out_p, out_s, out_f, out_l, state) -> int:
    """Walk from the solution (mpred, msucc, mfirst, mlast) towards the one with machine positions `pos_b` by
    feasible adjacent swaps that each remove one discordant pair; among the solutions `lo`..`hi` steps away, copy
    the one with the smallest makespan into out_*. Returns its makespan (-1 when the walk stopped before `lo`)."""
    n = dur.shape[0]
    head = np.empty(n, dtype=np.int64)
    tail = np.empty(n, dtype=np.int64)
    order = np.empty(n, dtype=np.int64)
    indeg = np.empty(n, dtype=np.int64)
    stack = np.empty(n, dtype=np.int64)
    seen = np.zeros(n, dtype=np.int64)
    cand = np.empty(n, dtype=np.int64)
    stamp = 0
    best = -1
    cmax = _evaluate(dur, jpred, jsucc, mpred, msucc, head, tail, order, indeg)
    for step in range(1, hi + 1):
        nc = 0
        for u in range(n):
            v = msucc[u]
            if v >= 0 and pos_b[u] > pos_b[v]:
                cand[nc] = u
                nc += 1
        moved = False
        while nc > 0:
            i = _rand(state, nc)
            u = cand[i]
            cand[i] = cand[nc - 1]
            nc -= 1
            v = msucc[u]
            js = jsucc[u]
            if js == v:
                continue
            if js >= 0:
                stamp += 1
                if _path_exists(jsucc, msucc, head, dur, js, v, stack, seen, stamp):
                    continue
            _ins_after(mpred, msucc, mfirst, mlast, machine, u, v)
            moved = True
            break
        if not moved:
            break
        cmax = _evaluate(dur, jpred, jsucc, mpred, msucc, head, tail, order, indeg)
        if cmax < 0:  # the pruned path test missed a cycle (zero durations): undo, stop here
            _ins_before(mpred, msucc, mfirst, mlast, machine, u, v)
            break
        if step >= lo and (best < 0 or cmax < best):
            best = cmax
            _copy_solution(mpred, msucc, mfirst, mlast, out_p, out_s, out_f, out_l)
    return best


@nb.njit(cache=True, nogil=True)
def _schedule_heads(dur, jpred, jsucc, mpred, msucc) -> np.ndarray:
    """Every operation's start in the semi-active schedule (all -1 when the machine orders have a cycle)."""
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
