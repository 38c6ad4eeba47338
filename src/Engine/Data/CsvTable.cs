using System.Globalization;

namespace InfoGpu.Data;

/// <summary>
/// A CSV file read whole: an optional header (detected when the first line has a field that
/// is not a number), then rows that must all have the same number of fields. Errors name the
/// file, the line and the column.
/// </summary>
public sealed class CsvTable
{
    private CsvTable(string path, string[]? header, List<string[]> rows, List<int> lineNumbers)
    {
        Path = path;
        Header = header;
        Rows = rows;
        LineNumbers = lineNumbers;
    }

    /// <summary>The path given to <see cref="Read"/> or <see cref="Parse"/>; used in error messages.</summary>
    public string Path { get; }

    /// <summary>Column names, or null when the file has no header line.</summary>
    public string[]? Header { get; }

    /// <summary>The data rows as text fields.</summary>
    public IReadOnlyList<string[]> Rows { get; }

    /// <summary>The 1-based line number of each data row, for error messages.</summary>
    public IReadOnlyList<int> LineNumbers { get; }

    /// <summary>Fields per row: the width of the first data row, else of the header, else 0 for an empty file.</summary>
    public int Columns => Rows.Count > 0 ? Rows[0].Length : Header?.Length ?? 0;

    /// <summary>Reads a CSV file; throws <see cref="InfoGpuException"/> for a missing file or ragged rows.</summary>
    public static CsvTable Read(string path, bool? hasHeader = null)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InfoGpuException($"cannot read CSV file {path}: {e.Message}");
        }
        return Parse(path, lines, hasHeader);
    }

    /// <summary>Parses CSV lines (the path is only used in messages).</summary>
    public static CsvTable Parse(string path, IReadOnlyList<string> lines, bool? hasHeader = null)
    {
        string[]? header = null;
        var rows = new List<string[]>();
        var numbers = new List<int>();
        int width = -1;
        for (int i = 0; i < lines.Count; i++)
        {
            string line = lines[i].TrimEnd('\r');
            if (line.Trim().Length == 0 || line.TrimStart().StartsWith('#'))
                continue;
            var fields = line.Split(',');
            for (int f = 0; f < fields.Length; f++)
                fields[f] = fields[f].Trim().Trim('"');
            if (header is null && rows.Count == 0 && (hasHeader ?? !fields.All(IsNumber)))
            {
                header = fields;
                width = fields.Length;
                continue;
            }
            if (width >= 0 && fields.Length != width)
                throw new InfoGpuException($"{path} line {i + 1}: {fields.Length} fields where the file has {width}; every row needs the same number of columns");
            width = fields.Length;
            rows.Add(fields);
            numbers.Add(i + 1);
        }
        return new CsvTable(path, header, rows, numbers);
    }

    /// <summary>The index of a column given by name (header) or 0-based number.</summary>
    public int ColumnIndex(string nameOrIndex)
    {
        if (Header is not null)
        {
            int byName = Array.IndexOf(Header, nameOrIndex);
            if (byName >= 0)
                return byName;
        }
        if (int.TryParse(nameOrIndex, NumberStyles.Integer, CultureInfo.InvariantCulture, out int k) && k >= 0 && k < Columns)
            return k;
        string names = Header is null ? $"0..{Columns - 1}" : string.Join(", ", Header);
        throw new InfoGpuException($"{Path}: no column '{nameOrIndex}'; columns are {names}");
    }

    /// <summary>All fields as float32, row-major; every field must be a finite number.</summary>
    public float[] ToMatrix()
    {
        var result = new float[Rows.Count * Columns];
        for (int r = 0; r < Rows.Count; r++)
        {
            for (int c = 0; c < Columns; c++)
                result[r * Columns + c] = (float)Number(r, c);
        }
        return result;
    }

    /// <summary>All fields as float64, row-major.</summary>
    public double[] ToMatrix64()
    {
        var result = new double[Rows.Count * Columns];
        for (int r = 0; r < Rows.Count; r++)
        {
            for (int c = 0; c < Columns; c++)
                result[r * Columns + c] = Number(r, c);
        }
        return result;
    }

    /// <summary>The field at (row, column) as a finite float64.</summary>
    public double Number(int row, int column)
    {
        string s = Rows[row][column];
        if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v))
            throw new InfoGpuException($"{Path} line {LineNumbers[row]}, column {column + 1}: '{s}' is not a number");
        if (!double.IsFinite(v))
            throw new InfoGpuException($"{Path} line {LineNumbers[row]}, column {column + 1}: {s} is not allowed; values must be finite");
        return v;
    }

    /// <summary>A column as category codes: equal text gives equal codes (integers keep their value).</summary>
    public int[] Categories(int column)
    {
        var codes = new int[Rows.Count];
        var map = new Dictionary<string, int>();
        bool allInts = Rows.All(r => int.TryParse(r[column], NumberStyles.Integer, CultureInfo.InvariantCulture, out _));
        for (int r = 0; r < Rows.Count; r++)
        {
            string s = Rows[r][column];
            if (allInts)
            {
                codes[r] = int.Parse(s, CultureInfo.InvariantCulture);
            }
            else
            {
                if (!map.TryGetValue(s, out int code))
                    map[s] = code = map.Count;
                codes[r] = code;
            }
        }
        return codes;
    }

    private static bool IsNumber(string s) =>
        double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out _);
}
