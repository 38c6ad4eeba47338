using System.Runtime.CompilerServices;

namespace InfoGpu.Kernels;

/// <summary>
/// The distance a neighbour search ranks samples by: in one coordinate x, or in the joint space
/// of (x, y). The same struct serves the ILGPU kernels (values as float32 pairs, distances as
/// <see cref="PairDistance"/>) and the CPU kernels (float64).
/// </summary>
/// <remarks>Counts in each coordinate (n_x, and n_y where <see cref="HasY"/>) always use that coordinate's own |difference|.</remarks>
internal interface INeighborDistance
{
    /// <summary>Whether samples have the second coordinate y.</summary>
    bool HasY { get; }

    /// <summary>The distance between samples a and b given as float32 pairs (the y parts are ignored without <see cref="HasY"/>).</summary>
    PairDistance Between(float xHiA, float xLoA, float yHiA, float yLoA, float xHiB, float xLoB, float yHiB, float yLoB);

    /// <summary>The distance between samples a and b in float64 (y ignored without <see cref="HasY"/>).</summary>
    double Between(double xA, double yA, double xB, double yB);
}

/// <summary>|x_b - x_a|: one coordinate (Ross's estimator, continuous against discrete).</summary>
internal readonly struct AbsoluteDistance : INeighborDistance
{
    public bool HasY => false;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public PairDistance Between(float xHiA, float xLoA, float yHiA, float yLoA, float xHiB, float xLoB, float yHiB, float yLoB) =>
        PairDistance.Between(xHiA, xLoA, xHiB, xLoB);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public double Between(double xA, double yA, double xB, double yB) => Math.Abs(xB - xA);
}

/// <summary>max(|x_b - x_a|, |y_b - y_a|): the max-norm of the joint space (KSG's first estimator).</summary>
internal readonly struct MaxNormDistance : INeighborDistance
{
    public bool HasY => true;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public PairDistance Between(float xHiA, float xLoA, float yHiA, float yLoA, float xHiB, float xLoB, float yHiB, float yLoB) =>
        PairDistance.Max(PairDistance.Between(xHiA, xLoA, xHiB, xLoB), PairDistance.Between(yHiA, yLoA, yHiB, yLoB));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public double Between(double xA, double yA, double xB, double yB) => Math.Max(Math.Abs(xB - xA), Math.Abs(yB - yA));
}
