namespace InfoGpu.Restricted;

/// <summary>
/// A gradient of the mean log-likelihood of an <see cref="Rbm"/> with respect to its
/// parameters, in float64 and in the model's layout: W (nv x nh row-major), b, c.
/// </summary>
/// <remarks>
/// The vector operations (<see cref="Dot"/>, <see cref="Norm"/>, <see cref="Distance"/>) treat
/// the three arrays as one vector of nv nh + nv + nh entries. Instances are plain arrays: not
/// thread-safe for concurrent writes.
/// </remarks>
public sealed class RbmGradient
{
    /// <summary>A zero gradient for an RBM of the given sizes.</summary>
    public RbmGradient(int visible, int hidden)
    {
        if (visible < 1 || hidden < 1)
            throw new InfoGpuException($"an RBM gradient needs at least one visible and one hidden unit; got {visible} visible, {hidden} hidden");
        Visible = visible;
        Hidden = hidden;
        Weights = new double[(long)visible * hidden];
        VisibleBias = new double[visible];
        HiddenBias = new double[hidden];
    }

    /// <summary>Visible units.</summary>
    public int Visible { get; }

    /// <summary>Hidden units.</summary>
    public int Hidden { get; }

    /// <summary>d/dW, nv x nh row-major.</summary>
    public double[] Weights { get; }

    /// <summary>d/db, one per visible unit.</summary>
    public double[] VisibleBias { get; }

    /// <summary>d/dc, one per hidden unit.</summary>
    public double[] HiddenBias { get; }

    /// <summary>The inner product with another gradient of the same sizes.</summary>
    public double Dot(RbmGradient other)
    {
        CheckSizes(other);
        return DotOf(Weights, other.Weights) + DotOf(VisibleBias, other.VisibleBias) + DotOf(HiddenBias, other.HiddenBias);
    }

    /// <summary>The Euclidean norm of the whole vector.</summary>
    public double Norm() => Math.Sqrt(Dot(this));

    /// <summary>||this - other||, the Euclidean distance of the whole vectors.</summary>
    public double Distance(RbmGradient other)
    {
        CheckSizes(other);
        return Math.Sqrt(SquaredDistance(Weights, other.Weights) + SquaredDistance(VisibleBias, other.VisibleBias) + SquaredDistance(HiddenBias, other.HiddenBias));
    }

    /// <summary>The cosine of the angle to another gradient (NaN when either is zero).</summary>
    public double Cosine(RbmGradient other)
    {
        double n = Norm() * other.Norm();
        return n > 0 ? Dot(other) / n : double.NaN;
    }

    /// <summary>this += scale * other.</summary>
    public void Add(RbmGradient other, double scale = 1)
    {
        CheckSizes(other);
        Axpy(Weights, other.Weights, scale);
        Axpy(VisibleBias, other.VisibleBias, scale);
        Axpy(HiddenBias, other.HiddenBias, scale);
    }

    /// <summary>this *= scale.</summary>
    public void Scale(double scale)
    {
        foreach (var a in new[] { Weights, VisibleBias, HiddenBias })
        {
            for (int k = 0; k < a.Length; k++)
                a[k] *= scale;
        }
    }

    /// <summary>A deep copy.</summary>
    public RbmGradient Clone()
    {
        var g = new RbmGradient(Visible, Hidden);
        g.Add(this);
        return g;
    }

    private void CheckSizes(RbmGradient other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other.Visible != Visible || other.Hidden != Hidden)
            throw new InfoGpuException($"RBM gradients of {Visible} x {Hidden} and {other.Visible} x {other.Hidden} units cannot be combined");
    }

    private static double DotOf(double[] x, double[] y)
    {
        double s = 0;
        for (int k = 0; k < x.Length; k++)
            s += x[k] * y[k];
        return s;
    }

    private static double SquaredDistance(double[] x, double[] y)
    {
        double s = 0;
        for (int k = 0; k < x.Length; k++)
        {
            double d = x[k] - y[k];
            s += d * d;
        }
        return s;
    }

    private static void Axpy(double[] y, double[] x, double a)
    {
        for (int k = 0; k < y.Length; k++)
            y[k] += a * x[k];
    }
}
