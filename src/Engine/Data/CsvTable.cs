using System.Globalization;
using System.IO.Compression;
using nietras.SeparatedValues;

namespace InfoGpu.Data;

/// <summary>How <see cref="CsvTable"/> reads a file.</summary>
/// <param name="Delimiter">The field separator; null detects it from the first data line (comma, semicolon or tab; comma when none appears).</param>
/// <param name="HasHeader">Whether the first line is a header; null: it is when one of its fields is not a number.</param>
/// <param name="MaxLineLength">The longest line accepted, in characters (a quoted field's line breaks do not end a line); longer is an error before it is held in memory.</param>
/// <param name="MaxValues">The most fields the table may hold (rows times columns); more is an error before the memory is taken.</param>
public sealed record CsvOptions(char? Delimiter = null, bool? HasHeader = null, int MaxLineLength = CsvOptions.DefaultMaxLineLength, long MaxValues = CsvOptions.DefaultMaxValues)
{
    /// <summary>16 Mi characters: a row of about 800,000 numbers.</summary>
    public const int DefaultMaxLineLength = 16 * 1024 * 1024;

    /// <summary>2^28 fields: 2 GiB of float64 values.</summary>
    public const long DefaultMaxValues = 1L << 28;

    /// <summary>The delimiters that detection chooses from, in order of preference on a tie.</summary>
    public static IReadOnlyList<char> DetectedDelimiters { get; } = [',', ';', '\t'];

    /// <summary>Parses a <c>--delimiter</c> value: one character, or <c>tab</c>, <c>\t</c>, <c>comma</c>, <c>semicolon</c>, <c>space</c>, <c>pipe</c>.</summary>
    public static char ParseDelimiter(string text)
    {
        char c = text switch
        {
            "tab" or "\\t" or "\t" => '\t',
            "comma" => ',',
            "semicolon" => ';',
            "space" => ' ',
            "pipe" => '|',
            { Length: 1 } => text[0],
            _ => throw new InfoGpuException($"delimiter '{text}': give one character, or tab, comma, semicolon, space or pipe"),
        };
        if (c is '"' or '\n' or '\r' or '#' || char.IsLetterOrDigit(c) || c is '.' or '-' or '+')
            throw new InfoGpuException($"delimiter '{text}' cannot separate numbers; use a comma, semicolon, tab, space or pipe");
        return c;
    }
}

/// <summary>
/// A CSV file, streamed and parsed once (Sep: quoted fields, "" escapes, fields trimmed) into
/// float64 values: an optional header (detected when the first line has a field that is not a
/// number), then rows that must all have the same number of fields. Blank lines and lines
/// starting with '#' are skipped. Gzip-compressed files (<c>.csv.gz</c>, detected by their magic
/// bytes) are read as they are. The delimiter is detected (comma, semicolon, tab) or given. Errors
/// name the file, the line and the column; a binary file, a line over
/// <see cref="CsvOptions.MaxLineLength"/> or more than <see cref="CsvOptions.MaxValues"/> fields
/// is an error before the memory is taken. Fields that are not numbers are kept as text (their
/// column can still be read as categories); reading one as a number is an error.
/// </summary>
public sealed class CsvTable
{
    private readonly double[] _values;
    private readonly string?[]?[] _text;
    private readonly int[] _lines;
    private IReadOnlyList<string[]>? _rows;

    private CsvTable(string path, string[]? header, int rows, int columns, double[] values, string?[]?[] text, int[] lines)
    {
        Path = path;
        Header = header;
        RowCount = rows;
        Columns = columns;
        _values = values;
        _text = text;
        _lines = lines;
    }

    /// <summary>A .npy array as a table without a header: a matrix's rows and columns, a vector as one row.</summary>
    private static CsvTable FromNpy(NpyArray a, string name)
    {
        var (rows, cols) = a.Shape.Length switch
        {
            1 => (1L, a.Shape[0]),
            2 => (a.Shape[0], a.Shape[1]),
            _ => throw new InfoGpuException($"{name}: a .npy array of {a.Shape.Length} dimensions; give a vector or a matrix (rows x columns)"),
        };
        if (rows > int.MaxValue || cols > int.MaxValue)
            throw new InfoGpuException($"{name}: shape ({string.Join(", ", a.Shape)}) is too large");
        for (long i = 0; i < a.Values.LongLength; i++)
        {
            if (!double.IsFinite(a.Values[i]))
                throw new InfoGpuException(FormattableString.Invariant($"{name}: row {i / Math.Max(cols, 1)}, column {i % Math.Max(cols, 1)} is {a.Values[i]}; every value must be finite"));
        }
        var lines = new int[rows];
        for (int r = 0; r < rows; r++)
            lines[r] = r + 1;
        return new CsvTable(name, null, (int)rows, (int)cols, a.Values, new string?[]?[cols], lines);
    }

    /// <summary>The path (or name) the table was read from; used in error messages.</summary>
    public string Path { get; }

    /// <summary>Column names, or null when the file has no header line.</summary>
    public string[]? Header { get; }

    /// <summary>Number of data rows.</summary>
    public int RowCount { get; }

    /// <summary>Fields per row: the width of the data rows, else of the header, else 0 for an empty file.</summary>
    public int Columns { get; }

    /// <summary>The data rows as text fields (numbers formatted back to text). Built on first use; prefer <see cref="Number"/> and <see cref="ToMatrix64"/>.</summary>
    public IReadOnlyList<string[]> Rows => _rows ??= Enumerable.Range(0, RowCount).Select(r => Enumerable.Range(0, Columns).Select(c => Text(r, c)).ToArray()).ToArray();

    /// <summary>The 1-based line number of each data row, for error messages.</summary>
    public IReadOnlyList<int> LineNumbers => _lines;

    /// <summary>Reads a CSV file (or a gzip-compressed one); throws <see cref="InfoGpuException"/> for a missing or unreadable file and for malformed content.</summary>
    public static CsvTable Read(string path, bool? hasHeader = null) => Read(path, new CsvOptions(HasHeader: hasHeader));

    /// <summary>Reads a CSV file (or a gzip-compressed one) with the given options.</summary>
    public static CsvTable Read(string path, CsvOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Stream stream;
        if (Directory.Exists(path))
            throw new InfoGpuException($"cannot read CSV file {path}: it is a folder; give a file");
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new InfoGpuException($"cannot read CSV file {path}: {e.Message}");
        }
        using (stream)
            return Read(stream, path, options);
    }

    /// <summary>Reads CSV text (plain or gzip-compressed) from a stream; <paramref name="name"/> is used in messages.</summary>
    public static CsvTable Read(Stream stream, string name, CsvOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        options ??= new CsvOptions();
        // Look at the first two bytes (the gzip magic) and put them back in front of the rest.
        var head = new byte[2];
        int got = 0;
        try
        {
            while (got < 2 && stream.Read(head, got, 2 - got) is int n and > 0)
                got += n;
        }
        catch (IOException e)
        {
            throw new InfoGpuException($"cannot read CSV file {name}: {e.Message}");
        }
        Stream input = new PrefixedStream(head.AsMemory(0, got), stream);
        if (got == 2 && head[0] == Npy.Magic[0] && head[1] == Npy.Magic[1])
            return FromNpy(Npy.Read(input, name, options.MaxValues), name);
        bool gzip = got == 2 && head[0] == 0x1f && head[1] == 0x8b;
        if (gzip)
            input = new GZipStream(input, CompressionMode.Decompress, leaveOpen: true);
        using var reader = new StreamReader(input, System.Text.Encoding.UTF8, detectEncodingFromByteOrderMarks: true, 1 << 16, leaveOpen: true);
        try
        {
            return Parse(name, reader, options);
        }
        catch (InvalidDataException e) when (gzip)
        {
            throw new InfoGpuException($"{name}: not a valid gzip file ({OneLine(e.Message)})");
        }
        catch (IOException e) when (e is not FileNotFoundException)
        {
            throw new InfoGpuException($"cannot read CSV file {name}: {OneLine(e.Message)}");
        }
        finally
        {
            input.Dispose();
        }
    }

    /// <summary>Parses CSV lines (the path is only used in messages).</summary>
    public static CsvTable Parse(string path, IReadOnlyList<string> lines, bool? hasHeader = null)
    {
        ArgumentNullException.ThrowIfNull(lines);
        using var reader = new StringReader(string.Join('\n', lines));
        return Parse(path, reader, new CsvOptions(HasHeader: hasHeader));
    }

    /// <summary>Parses CSV text from a reader (the path is only used in messages).</summary>
    public static CsvTable Parse(string path, TextReader text, CsvOptions options)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(options);
        if (options.MaxLineLength < 1 || options.MaxValues < 1)
            throw new InfoGpuException($"{path}: the line and size limits must be positive");
        using var guard = new GuardedReader(text, path, options.MaxLineLength);
        char delimiter = options.Delimiter ?? guard.DetectDelimiter();
        var builder = new Builder(path, options);
        try
        {
            using var reader = Sep.New(delimiter).Reader(o => o with
            {
                HasHeader = false,
                Unescape = true,
                Trim = SepTrim.All,
                DisableColCountCheck = true,
                CultureInfo = CultureInfo.InvariantCulture,
            }).From(guard);
            // One thread: Sep's ParallelEnumerate was slower here (0.40 s against 0.23 s for the
            // first 20,000 x 50 file of a process) on two cores shared with other work.
            while (reader.MoveNext())
                builder.Add(reader.Current);
        }
        catch (Exception e) when (e is not InfoGpuException and not OutOfMemoryException and not IOException and not InvalidDataException)
        {
            // Sep's own complaints (a separator it refuses, a malformed row) as one clean line.
            throw new InfoGpuException($"{path} line {guard.Line}: {OneLine(e.Message)}");
        }
        return builder.Build();
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
        var result = new float[_values.Length];
        for (int i = 0; i < result.Length; i++)
        {
            double v = _values[i];
            result[i] = double.IsFinite(v) ? (float)v : (float)Number(i / Columns, i % Columns);
        }
        return result;
    }

    /// <summary>All fields as float64, row-major; every field must be a finite number.</summary>
    public double[] ToMatrix64()
    {
        for (int i = 0; i < _values.Length; i++)
        {
            if (!double.IsFinite(_values[i]))
                Number(i / Columns, i % Columns);
        }
        return _values.ToArray();
    }

    /// <summary>The field at (row, column) as a finite float64.</summary>
    public double Number(int row, int column)
    {
        if ((uint)row >= (uint)RowCount || (uint)column >= (uint)Columns)
            throw new ArgumentOutOfRangeException(nameof(row), $"({row}, {column}) is outside the {RowCount} x {Columns} table");
        double v = _values[row * Columns + column];
        if (double.IsFinite(v))
            return v;
        if (_text[column]?[row] is string s)
            throw new InfoGpuException($"{Path} line {_lines[row]}, column {column + 1}: '{Clip(s)}' is not a number");
        throw new InfoGpuException($"{Path} line {_lines[row]}, column {column + 1}: {Format(v)} is not allowed; values must be finite");
    }

    /// <summary>The field at (row, column) as text: as written when it is not a number, else the number (shortest round-trip form).</summary>
    public string Text(int row, int column) =>
        _text[column]?[row] ?? Format(_values[row * Columns + column]);

    /// <summary>True when some field of the column is not a number (text; it can still be read as <see cref="Categories"/>).</summary>
    public bool HasText(int column) => _text[column] is not null;

    /// <summary>A column as category codes: equal text gives equal codes (a column of integers keeps their values).</summary>
    public int[] Categories(int column)
    {
        if ((uint)column >= (uint)Columns)
            throw new InfoGpuException($"{Path}: no column {column}; the file has {Columns}");
        var codes = new int[RowCount];
        bool allInts = _text[column] is null;
        for (int r = 0; r < RowCount && allInts; r++)
        {
            double v = _values[r * Columns + column];
            allInts = double.IsFinite(v) && v == Math.Floor(v) && v >= int.MinValue && v <= int.MaxValue;
        }
        if (allInts)
        {
            for (int r = 0; r < RowCount; r++)
                codes[r] = (int)_values[r * Columns + column];
            return codes;
        }
        var map = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int r = 0; r < RowCount; r++)
        {
            string s = Text(r, column);
            if (!map.TryGetValue(s, out int code))
                map[s] = code = map.Count;
            codes[r] = code;
        }
        return codes;
    }

    private static string Format(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    private static string Clip(string s) => OneLine(s.Length <= 40 ? s : s[..37] + "...");

    private static string OneLine(string s) => string.Concat(s.Select(c => char.IsControl(c) ? ' ' : c));

    /// <summary>A data row parsed off the reading thread: its line, its values (empty for a blank or comment line), the text of the fields that are not numbers.</summary>
    private readonly record struct ParsedRow(int Line, double[] Values, string?[]? Text);

    /// <summary>Accumulates rows: header detection, width checks, size caps, values and text.</summary>
    private sealed class Builder(string path, CsvOptions options)
    {
        private string[]? _header;
        private int _width = -1;
        private int _rows;
        private double[] _values = new double[4096];
        private string?[]?[] _text = [];
        private int[] _lines = new int[256];

        /// <summary>Takes a row in file order; true once a data row is stored (the width is then fixed).</summary>
        public bool Add(SepReader.Row row)
        {
            var raw = row.Span.TrimStart();
            if (raw.IsEmpty || raw.IsWhiteSpace() || raw[0] == '#')
                return false;
            int n = row.ColCount;
            if (_header is null && _rows == 0 && _width < 0 && (options.HasHeader ?? !AllNumbers(row)))
            {
                _header = new string[n];
                for (int c = 0; c < n; c++)
                {
                    _header[c] = row[c].ToString();
                    int first = Array.IndexOf(_header, _header[c], 0, c);
                    if (first >= 0)
                        throw new InfoGpuException($"{path}: the header names column '{OneLine(_header[c])}' twice (columns {first} and {c}); give each column its own name");
                }
                _width = n;
                _text = new string?[]?[n];
                return false;
            }
            Add(ParseRow(row));
            return true;
        }

        /// <summary>One row's fields as numbers (NaN and the text where a field is not one); safe on any thread.</summary>
        public static ParsedRow ParseRow(SepReader.Row row)
        {
            var raw = row.Span.TrimStart();
            if (raw.IsEmpty || raw.IsWhiteSpace() || raw[0] == '#')
                return new ParsedRow(LineOf(row), [], null);
            int n = row.ColCount;
            var values = new double[n];
            string?[]? text = null;
            for (int c = 0; c < n; c++)
            {
                var col = row[c];
                if (!TryNumber(col, out values[c]))
                {
                    values[c] = double.NaN;
                    (text ??= new string?[n])[c] = col.ToString();
                }
            }
            return new ParsedRow(LineOf(row), values, text);
        }

        /// <summary>The row's first line in the file: the first row is on line 1 (the parser numbers it 2 when it has no header).</summary>
        private static int LineOf(SepReader.Row row) => row.RowIndex == 0 ? 1 : row.LineNumberFrom;

        /// <summary>Stores a parsed row (in file order): width check, size cap, values and text.</summary>
        public void Add(ParsedRow row)
        {
            int n = row.Values.Length;
            if (n == 0)
                return;
            if (_width >= 0 && n != _width)
                throw new InfoGpuException($"{path} line {row.Line}: {n} fields where the file has {_width}; every row needs the same number of columns");
            if (_width < 0)
            {
                _width = n;
                _text = new string?[]?[n];
            }
            long needed = (long)(_rows + 1) * n;
            if (needed > options.MaxValues)
                throw new InfoGpuException($"{path} line {row.Line}: more than {options.MaxValues} fields; the limit keeps the table within memory (split the file or raise the limit)");
            if (needed > _values.Length)
                Array.Resize(ref _values, (int)Math.Min(Math.Max(needed, (long)_values.Length * 2), Math.Min(options.MaxValues, Array.MaxLength)));
            if (_rows == _lines.Length)
            {
                Array.Resize(ref _lines, _lines.Length * 2);
                for (int c = 0; c < _text.Length; c++)
                {
                    if (_text[c] is { } t)
                        _text[c] = ResizeText(t, _lines.Length);
                }
            }
            _lines[_rows] = row.Line;
            row.Values.CopyTo(_values.AsSpan(_rows * n));
            if (row.Text is { } text)
            {
                // The first text of a column gives it a text array (null where the rows are numbers).
                for (int c = 0; c < n; c++)
                {
                    if (text[c] is string t)
                        (_text[c] ??= new string?[_lines.Length])[_rows] = t;
                }
            }
            _rows++;
        }

        public CsvTable Build()
        {
            int width = Math.Max(_width, 0);
            var values = _values.Length == _rows * width ? _values : _values.AsSpan(0, _rows * width).ToArray();
            var text = _text.Length == width ? _text : new string?[]?[width];
            for (int c = 0; c < text.Length; c++)
            {
                if (text[c] is { } t && t.Length != _rows)
                    text[c] = t.AsSpan(0, _rows).ToArray();
            }
            return new CsvTable(path, _header, _rows, width, values, text, _lines.AsSpan(0, _rows).ToArray());
        }

        private static string?[] ResizeText(string?[] column, int length)
        {
            Array.Resize(ref column, length);
            return column;
        }

        /// <summary>
        /// A number as double.TryParse reads NumberStyles.Float in the invariant culture (Sep's
        /// fast float parser, which would also read "1,5" as 15: a field with a comma is text).
        /// </summary>
        private static bool TryNumber(SepReader.Col col, out double value)
        {
            if (col.Span.Contains(','))
            {
                value = double.NaN;
                return false;
            }
            return col.TryParse(out value);
        }

        private static bool AllNumbers(SepReader.Row row)
        {
            for (int c = 0; c < row.ColCount; c++)
            {
                if (!TryNumber(row[c], out _))
                    return false;
            }
            return true;
        }
    }

    /// <summary>A stream that returns a few bytes already read, then the rest of another stream (left open).</summary>
    private sealed class PrefixedStream(ReadOnlyMemory<byte> prefix, Stream rest) : Stream
    {
        private ReadOnlyMemory<byte> _prefix = prefix;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(Span<byte> buffer)
        {
            if (_prefix.IsEmpty)
                return rest.Read(buffer);
            int n = Math.Min(buffer.Length, _prefix.Length);
            _prefix.Span[..n].CopyTo(buffer);
            _prefix = _prefix[n..];
            return n;
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    /// <summary>
    /// The text under the parser, checked as it streams: no NUL characters (a binary file), no line
    /// longer than the limit (line breaks inside quotes do not end a line), with the line count for
    /// messages and a look at the first line to detect the delimiter.
    /// </summary>
    private sealed class GuardedReader(TextReader inner, string path, int maxLine) : TextReader
    {
        private char[] _pending = [];
        private int _pendingStart, _pendingEnd;
        private bool _inQuotes;
        private long _lineLength;

        /// <summary>The 1-based line being read.</summary>
        public int Line { get; private set; } = 1;

        /// <summary>The delimiter of the first line that is neither blank nor a comment: the most frequent of comma, semicolon and tab outside quotes (comma on a tie or when none appears).</summary>
        public char DetectDelimiter()
        {
            const int Look = 1 << 16;
            _pending = new char[Look];
            int n = 0;
            while (n < Look && inner.Read(_pending, n, Look - n) is int got and > 0)
                n += got;
            _pendingStart = 0;
            _pendingEnd = n;
            var text = _pending.AsSpan(0, n);
            while (!text.IsEmpty)
            {
                int end = text.IndexOf('\n');
                var line = end < 0 ? text : text[..end];
                text = end < 0 ? [] : text[(end + 1)..];
                var trimmed = line.Trim();
                if (trimmed.IsEmpty || trimmed[0] == '#')
                    continue;
                char best = ',';
                int bestCount = 0;
                foreach (char d in CsvOptions.DetectedDelimiters)
                {
                    int count = 0;
                    bool quoted = false;
                    foreach (char ch in line)
                    {
                        if (ch == '"')
                            quoted = !quoted;
                        else if (ch == d && !quoted)
                            count++;
                    }
                    if (count > bestCount)
                        (best, bestCount) = (d, count);
                }
                return best;
            }
            return ',';
        }

        public override int Read(Span<char> buffer)
        {
            int n;
            if (_pendingStart < _pendingEnd)
            {
                n = Math.Min(buffer.Length, _pendingEnd - _pendingStart);
                _pending.AsSpan(_pendingStart, n).CopyTo(buffer);
                _pendingStart += n;
                if (_pendingStart == _pendingEnd)
                    _pending = [];
            }
            else
            {
                n = inner.Read(buffer);
            }
            Check(buffer[..n]);
            return n;
        }

        public override int Read(char[] buffer, int index, int count) => Read(buffer.AsSpan(index, count));

        public override int Read()
        {
            Span<char> one = stackalloc char[1];
            return Read(one) == 1 ? one[0] : -1;
        }

        public override int Peek() => -1;

        private void Check(ReadOnlySpan<char> chunk)
        {
            while (!chunk.IsEmpty)
            {
                int i = chunk.IndexOfAny('\n', '"', '\0');
                int run = i < 0 ? chunk.Length : i;
                _lineLength += run;
                if (_lineLength > maxLine)
                    throw new InfoGpuException($"{path} line {Line}: longer than {maxLine} characters; is this a CSV file?");
                if (i < 0)
                    return;
                char c = chunk[i];
                if (c == '\0')
                    throw new InfoGpuException($"{path} line {Line}: a NUL character; this is a binary file, not CSV text");
                if (c == '"')
                {
                    _inQuotes = !_inQuotes;
                    _lineLength++;
                }
                else
                {
                    Line++;
                    if (!_inQuotes)
                        _lineLength = 0;
                    else
                        _lineLength++;
                }
                chunk = chunk[(i + 1)..];
            }
        }

        protected override void Dispose(bool disposing)
        {
            // The caller owns the inner reader.
            base.Dispose(disposing);
        }
    }
}
