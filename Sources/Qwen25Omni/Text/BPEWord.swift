// Mirrors HF tokenizers' `models::bpe::word::Word::merge_all` (no dropout).

/// One word's symbols being merged: a linked list over an array, driven by a min-heap of candidate merges
/// ordered by (rank, position). O(n log n) in the word length, so a long unbroken run stays fast.
struct BPEWord {
    private struct Symbol {
        var id: Int
        var prev: Int
        var next: Int
        var alive: Bool
    }

    /// A candidate merge of the symbol at `pos` with its right neighbour.
    private struct Candidate {
        var rank: Int
        var pos: Int
        var newID: Int
        func precedes(_ other: Candidate) -> Bool { rank != other.rank ? rank < other.rank : pos < other.pos }
    }

    /// Merges `ids` with `lookup(left, right) -> (rank, merged id)` until no adjacent pair has a merge.
    static func merge(_ ids: [Int], lookup: (Int, Int) -> (rank: Int, id: Int)?) -> [Int] {
        guard ids.count > 1 else { return ids }
        var symbols = ids.indices.map {
            Symbol(id: ids[$0], prev: $0 - 1, next: $0 + 1 < ids.count ? $0 + 1 : -1, alive: true)
        }
        var heap: [Candidate] = []
        for i in 0..<(ids.count - 1) {
            if let m = lookup(ids[i], ids[i + 1]) { push(Candidate(rank: m.rank, pos: i, newID: m.id), into: &heap) }
        }
        while let top = pop(&heap) {
            guard symbols[top.pos].alive else { continue }
            let right = symbols[top.pos].next
            guard right >= 0 else { continue }
            // Stale entry: the pair here changed since it was queued.
            guard let m = lookup(symbols[top.pos].id, symbols[right].id), m.id == top.newID else { continue }
            symbols[top.pos].id = top.newID
            symbols[top.pos].next = symbols[right].next
            symbols[right].alive = false
            if symbols[right].next >= 0 { symbols[symbols[right].next].prev = top.pos }
            let prev = symbols[top.pos].prev
            if prev >= 0, let m = lookup(symbols[prev].id, top.newID) {
                push(Candidate(rank: m.rank, pos: prev, newID: m.id), into: &heap)
            }
            let next = symbols[top.pos].next
            if next >= 0, let m = lookup(top.newID, symbols[next].id) {
                push(Candidate(rank: m.rank, pos: top.pos, newID: m.id), into: &heap)
            }
        }
        var out: [Int] = []
        var i = 0
        while i >= 0 {
            out.append(symbols[i].id)
            i = symbols[i].next
        }
        return out
    }

    private static func push(_ c: Candidate, into heap: inout [Candidate]) {
        heap.append(c)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].precedes(heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private static func pop(_ heap: inout [Candidate]) -> Candidate? {
        guard let first = heap.first else { return nil }
        let last = heap.removeLast()
        guard !heap.isEmpty else { return first }
        heap[0] = last
        var parent = 0
        while true {
            let l = 2 * parent + 1, r = l + 1
            var best = parent
            if l < heap.count, heap[l].precedes(heap[best]) { best = l }
            if r < heap.count, heap[r].precedes(heap[best]) { best = r }
            if best == parent { break }
            heap.swapAt(parent, best)
            parent = best
        }
        return first
    }
}
