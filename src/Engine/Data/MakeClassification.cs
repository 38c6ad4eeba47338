namespace InfoGpu.Data;

/// <summary>Tabular features and a target, row-major, with column names.</summary>
/// <param name="Features">Rows x Names.Length values, row-major.</param>
/// <param name="Rows">Number of rows.</param>
/// <param name="Names">Feature column names.</param>
/// <param name="Target">One target value per row.</param>
/// <param name="TargetName">Name of the target column.</param>
public sealed record FeatureTable(double[] Features, int Rows, string[] Names, double[] Target, string TargetName)
{
    /// <summary>
    /// Splits a CSV table: every column but <paramref name="targetColumn"/> (name or 0-based
    /// number; null: the last) is a feature. A feature for which <paramref name="categorical"/>
    /// (feature name, 0-based feature index) is true, and the target when
    /// <paramref name="categoricalTarget"/>, may hold text: its values are category codes (equal
    /// text, equal code; a column of integers keeps them). Any other field must be a finite number.
    /// </summary>
    public static FeatureTable FromCsv(CsvTable table, string? targetColumn, Func<string, int, bool>? categorical = null, bool categoricalTarget = false)
    {
        ArgumentNullException.ThrowIfNull(table);
        if (table.RowCount == 0)
            throw new InfoGpuException($"{table.Path}: no data rows; the file needs a header and rows of numbers");
        if (table.Columns < 2)
            throw new InfoGpuException($"{table.Path}: {table.Columns} column; need at least one feature column and a target column");
        int t = targetColumn is null ? table.Columns - 1 : table.ColumnIndex(targetColumn);
        int[] featureColumns = Enumerable.Range(0, table.Columns).Where(c => c != t).ToArray();
        int n = table.RowCount, f = featureColumns.Length;
        string Name(int c) => table.Header?[c] ?? c.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var names = featureColumns.Select(Name).ToArray();
        var x = new double[n * f];
        var y = new double[n];
        // Text columns asked for as categories become codes; the rest are read as numbers.
        var codes = new int[]?[f];
        for (int c = 0; c < f; c++)
        {
            if (table.HasText(featureColumns[c]) && categorical?.Invoke(names[c], c) == true)
                codes[c] = table.Categories(featureColumns[c]);
        }
        int[]? targetCodes = categoricalTarget && table.HasText(t) ? table.Categories(t) : null;
        for (int r = 0; r < n; r++)
        {
            for (int c = 0; c < f; c++)
                x[r * f + c] = codes[c] is { } k ? k[r] : table.Number(r, featureColumns[c]);
            y[r] = targetCodes is { } tk ? tk[r] : table.Number(r, t);
        }
        return new FeatureTable(x, n, names, y, Name(t));
    }
}

/// <summary>The embedded make_classification data set (1000 rows, 20 features, binary label y).</summary>
public static class MakeClassification
{
    private const string Resource = "InfoGpu.Data.MakeClassification.make_classification_1000x20.csv.gz";

    /// <summary>scikit-learn's make_classification(1000, 20, n_informative=5, n_redundant=5, random_state=42), label last.</summary>
    public static FeatureTable LoadEmbedded()
    {
        using var stream = InfoGpu.Datasets.EmbeddedData.Open(Resource)
            ?? throw new InfoGpuException($"embedded resource {Resource} is missing from this build");
        return FeatureTable.FromCsv(CsvTable.Read(stream, "make_classification_1000x20.csv (embedded)"), null);
    }
}
