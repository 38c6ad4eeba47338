namespace InfoGpu.Host.Cli;

/// <summary>
/// "Did you mean" for a mistyped command word or option name: the candidates nearest by edit
/// distance (insertions, deletions, substitutions and swaps of two neighbours each count 1), or
/// those that the word begins. Stateless and thread-safe.
/// </summary>
internal static class Suggest
{
    /// <summary>
    /// The candidates closest to <paramref name="word"/>, best first (at most three, ties in the
    /// candidates' order); empty when none is close enough to be a likely typo.
    /// </summary>
    /// <remarks>
    /// A candidate is close when its distance is at most max(1, min(3, |word| / 3)), or when it
    /// starts with <paramref name="word"/> (a word of at least two characters cut short).
    /// </remarks>
    public static IReadOnlyList<string> Closest(string word, IEnumerable<string> candidates)
    {
        if (word.Length == 0)
            return [];
        int limit = Math.Max(1, Math.Min(3, word.Length / 3));
        var scored = new List<(string Candidate, int Distance, int Order)>();
        int order = 0;
        foreach (string c in candidates.Distinct(StringComparer.Ordinal))
        {
            order++;
            if (c == word)
                continue;
            int d = Distance(word, c);
            if (d <= limit)
                scored.Add((c, d, order));
            else if (word.Length >= 2 && c.StartsWith(word, StringComparison.Ordinal))
                scored.Add((c, limit + 1, order));
        }
        if (scored.Count == 0)
            return [];
        int best = scored.Min(s => s.Distance);
        return scored.Where(s => s.Distance == best).OrderBy(s => s.Order).Take(3).Select(s => s.Candidate).ToList();
    }

    /// <summary>"a", "a or b", "a, b or c".</summary>
    public static string OrList(IReadOnlyList<string> items) => items.Count switch
    {
        0 => "",
        1 => items[0],
        _ => string.Join(", ", items.Take(items.Count - 1)) + " or " + items[^1],
    };

    /// <summary>Edit distance with swaps of adjacent characters (optimal string alignment).</summary>
    internal static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++)
            d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++)
            d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                int v = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                    v = Math.Min(v, d[i - 2, j - 2] + 1);
                d[i, j] = v;
            }
        }
        return d[a.Length, b.Length];
    }
}
