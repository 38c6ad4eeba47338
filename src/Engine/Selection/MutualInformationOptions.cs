namespace InfoGpu.Selection;

/// <summary>How the neighbour searches of the estimators run.</summary>
public enum NeighborSearch
{
    /// <summary>Brute force on a GPU (up to <see cref="MutualInformationSelector.BruteForceLimit"/> samples), else sorted order.</summary>
    Auto,

    /// <summary>Every pair of samples, on the device (one launch for all features).</summary>
    Brute,

    /// <summary>
    /// Sort each feature once; neighbours by two-pointer expansion, counts by binary search, on the
    /// device (on ILGPU the host sorts and the device searches, one launch for all features).
    /// </summary>
    Sorted,
}

/// <summary>Settings of <see cref="MutualInformationSelector"/>; the defaults are scikit-learn's.</summary>
/// <param name="Neighbors">k, the neighbour count of the estimators (scikit-learn's n_neighbors), 1 to 64.</param>
/// <param name="Regression">True: continuous target (mutual_info_regression); false: class labels (mutual_info_classif).</param>
/// <param name="DiscreteFeatures">Indices of the discrete feature columns (contingency MI); null or empty: all continuous (scikit-learn's 'auto' for dense input).</param>
/// <param name="Noise">Add scikit-learn's tie-breaking noise 1e-10 * max(1, mean|x|) * N(0, 1) to the scaled continuous columns.</param>
/// <param name="Seed">Seed of the Philox noise.</param>
/// <param name="Search">Which neighbour search runs.</param>
/// <param name="Top">How many features <see cref="MutualInformationResult.Selected"/> lists.</param>
public sealed record MutualInformationOptions(
    int Neighbors = 3,
    bool Regression = false,
    IReadOnlyList<int>? DiscreteFeatures = null,
    bool Noise = true,
    ulong Seed = 42,
    NeighborSearch Search = NeighborSearch.Auto,
    int Top = 5);

/// <summary>Mutual information of each feature with the target.</summary>
/// <param name="Scores">Nats per feature, in column order, clipped at 0.</param>
/// <param name="Ranking">All feature indices, best first (equal scores keep column order).</param>
/// <param name="Selected">The first <see cref="MutualInformationOptions.Top"/> of <see cref="Ranking"/>.</param>
/// <param name="Discrete">Which features were treated as discrete.</param>
/// <param name="Method">The neighbour search that ran: "brute" or "sorted".</param>
/// <param name="Samples">Rows used.</param>
/// <param name="Seconds">Wall time of the estimation (preprocessing included).</param>
public sealed record MutualInformationResult(
    double[] Scores,
    int[] Ranking,
    int[] Selected,
    bool[] Discrete,
    string Method,
    int Samples,
    double Seconds)
{
    /// <summary>What a careful reader should know about the input (constant features, classes with one member); empty when nothing was noticed.</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];
}
