namespace InfoGpu.Measures;

/// <summary>The entropies of a joint distribution of two discrete variables and what follows from them.</summary>
/// <param name="HX">H(X), from the row marginals.</param>
/// <param name="HY">H(Y), from the column marginals.</param>
/// <param name="HXY">The joint entropy H(X, Y).</param>
public readonly record struct JointInformation(double HX, double HY, double HXY)
{
    /// <summary>H(X | Y) = H(X, Y) - H(Y).</summary>
    public double HXGivenY => HXY - HY;

    /// <summary>H(Y | X) = H(X, Y) - H(X).</summary>
    public double HYGivenX => HXY - HX;

    /// <summary>I(X; Y) = H(X) + H(Y) - H(X, Y).</summary>
    public double MutualInformation => HX + HY - HXY;
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
