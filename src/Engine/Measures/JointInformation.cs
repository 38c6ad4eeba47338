namespace InfoGpu.Measures;

/// <summary>The entropies of a joint distribution of two discrete variables and what follows from them.</summary>
/// <remarks>
/// Two sources fill it. The float64 entry points (<see cref="InformationMeasures64.Joint"/>,
/// <see cref="InformationMeasures64.MutualInformation"/>) compute every field directly: the
/// conditional entropies as sum_y p(y) H(X | Y = y), the mutual information as
/// sum p(x,y) ln(p(x,y) / (p(x) p(y))), so neither comes from a difference of entropies and the
/// mutual information is never negative. The float32 device path
/// (<see cref="InformationMeasures.Joint"/>) computes H(X), H(Y), H(X,Y) and takes the
/// differences (see its remarks for the error bound; a negative difference is reported as 0).
/// </remarks>
public readonly record struct JointInformation
{
    /// <summary>From the three entropies: the conditional entropies and the mutual information as their differences (I clamped at 0).</summary>
    /// <param name="hx">H(X).</param>
    /// <param name="hy">H(Y).</param>
    /// <param name="hxy">H(X, Y).</param>
    public JointInformation(double hx, double hy, double hxy)
        : this(hx, hy, hxy, hxy - hy, hxy - hx, Math.Max(0, hx + hy - hxy))
    {
    }

    /// <summary>From six values computed each on its own.</summary>
    /// <param name="hx">H(X).</param>
    /// <param name="hy">H(Y).</param>
    /// <param name="hxy">H(X, Y).</param>
    /// <param name="hxGivenY">H(X | Y).</param>
    /// <param name="hyGivenX">H(Y | X).</param>
    /// <param name="mutualInformation">I(X; Y).</param>
    public JointInformation(double hx, double hy, double hxy, double hxGivenY, double hyGivenX, double mutualInformation)
    {
        HX = hx;
        HY = hy;
        HXY = hxy;
        HXGivenY = hxGivenY;
        HYGivenX = hyGivenX;
        MutualInformation = mutualInformation;
    }

    /// <summary>H(X), from the row marginals.</summary>
    public double HX { get; }

    /// <summary>H(Y), from the column marginals.</summary>
    public double HY { get; }

    /// <summary>The joint entropy H(X, Y).</summary>
    public double HXY { get; }

    /// <summary>H(X | Y) = sum_y p(y) H(X | Y = y) (= H(X, Y) - H(Y)).</summary>
    public double HXGivenY { get; }

    /// <summary>H(Y | X) = sum_x p(x) H(Y | X = x) (= H(X, Y) - H(X)).</summary>
    public double HYGivenX { get; }

    /// <summary>I(X; Y) = sum p(x,y) log(p(x,y) / (p(x) p(y))) (= H(X) + H(Y) - H(X, Y)), never negative.</summary>
    public double MutualInformation { get; }
}

/// <summary>Which label-smoothing convention a cross-entropy from logits uses.</summary>
public enum LabelSmoothingKind
{
    /// <summary>No smoothing: plain cross-entropy.</summary>
    None,

    /// <summary>1 - eps on the target class, eps / (K - 1) on each of the others (the textbook's code).</summary>
    OtherClasses,

    /// <summary>(1 - eps) one-hot + eps / K on every class (PyTorch's <c>label_smoothing</c>).</summary>
    Uniform,
}

/// <summary>A label-smoothing setting: the convention and epsilon in [0, 1).</summary>
public readonly record struct LabelSmoothing(LabelSmoothingKind Kind, double Epsilon)
{
    /// <summary>No smoothing (also the default value): plain cross-entropy against the target class.</summary>
    public static LabelSmoothing None => default;

    /// <summary>The textbook's convention: 1 - epsilon on the target class, epsilon / (K - 1) on each of the K - 1 others.</summary>
    /// <param name="epsilon">Smoothing mass in [0, 1); checked when a loss is computed (with K &gt;= 2), which throws <see cref="InfoGpuException"/> otherwise.</param>
    public static LabelSmoothing OtherClasses(double epsilon) => new(LabelSmoothingKind.OtherClasses, epsilon);

    /// <summary>PyTorch's <c>label_smoothing</c>: (1 - epsilon) one-hot + epsilon / K on every class.</summary>
    /// <param name="epsilon">Smoothing mass in [0, 1); checked when a loss is computed, which throws <see cref="InfoGpuException"/> otherwise.</param>
    public static LabelSmoothing Uniform(double epsilon) => new(LabelSmoothingKind.Uniform, epsilon);

    internal int Mode => Kind switch
    {
        LabelSmoothingKind.OtherClasses => Kernels.LogitMath.SmoothingOthers,
        LabelSmoothingKind.Uniform => Kernels.LogitMath.SmoothingUniform,
        _ => Kernels.LogitMath.Plain,
    };

    internal void Validate(int classes)
    {
        if (Kind == LabelSmoothingKind.None)
            return;
        if (!(Epsilon >= 0 && Epsilon < 1))
            throw new InfoGpuException($"label smoothing epsilon {Epsilon} is out of range: use 0 <= epsilon < 1");
        if (Kind == LabelSmoothingKind.OtherClasses && classes < 2)
            throw new InfoGpuException("label smoothing over the other classes needs at least 2 classes");
    }
}
