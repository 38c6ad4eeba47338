namespace InfoGpu.Bottleneck;

/// <summary>The solution of the information bottleneck at one beta (all information in nats).</summary>
/// <param name="Beta">The tradeoff parameter.</param>
/// <param name="InformationXT">I(X;T), the rate: how much the bottleneck keeps of X.</param>
/// <param name="InformationTY">I(T;Y), the relevance: how much it tells of Y.</param>
/// <param name="ClustersUsed">Clusters with p(t) above <see cref="InformationBottleneckOptions.UsedThreshold"/>, after merging.</param>
/// <param name="Iterations">Self-consistent iterations at this beta (after the branch from the ladder).</param>
/// <param name="Converged">Whether the iterations met <see cref="InformationBottleneckOptions.Tolerance"/> before <see cref="InformationBottleneckOptions.MaxIterations"/>.</param>
/// <param name="Encoder">The encoder p(t|x), |X| rows of |T| entries (row-major), used clusters first; each row sums to 1 (rows of an x with p(x) = 0 give p(t)).</param>
public sealed record InformationBottleneckPoint(double Beta, double InformationXT, double InformationTY, int ClustersUsed, int Iterations, bool Converged, double[] Encoder)
{
    /// <summary>The IB Lagrangian I(X;T) - beta I(T;Y) at this solution.</summary>
    public double Objective => InformationXT - Beta * InformationTY;
}

/// <summary>An information-bottleneck run: the problem's own information and one point per beta.</summary>
/// <param name="SizeX">|X|, the rows of the joint table.</param>
/// <param name="SizeY">|Y|, its columns.</param>
/// <param name="Clusters">|T|, the cluster slots of every encoder.</param>
/// <param name="InformationXY">I(X;Y) in nats: no bottleneck can tell more of Y.</param>
/// <param name="EntropyX">H(X) in nats: no bottleneck can keep more of X.</param>
/// <param name="Points">One point per requested beta, in increasing beta.</param>
/// <param name="Precision">"double" (float64 on the host) or "single" (float32 on a device).</param>
public sealed record InformationBottleneckResult(int SizeX, int SizeY, int Clusters, double InformationXY, double EntropyX, IReadOnlyList<InformationBottleneckPoint> Points, string Precision);
